import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import type { SharedBlobs } from "../blobs/shared-blobs.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/store.js";
import { handleBase } from "./base/base-routes.js";
import { BaseStore } from "./base/base-store.js";
import type { Bases, Clock } from "./base/bases.js";
import { openDataDatabase } from "./data-database.js";
import { badRequest, DetaError, unauthorized } from "./deta-error.js";
import { handleDrive } from "./drive/drive-routes.js";
import { DriveStore } from "./drive/drive-store.js";
import type { Drives } from "./drive/drives.js";
import { sendError } from "./http.js";
import { dataOperation } from "./operation.js";

/** Which service a path prefix of the platform's own host leads to. */
export type DataServiceName = "base" | "drive";

export interface DataServiceOptions {
  dataDir: string;
  /**
   * The platform's store: Base and Drive live beside it. SQLite: in `<data-dir>/data.db` and `<data-dir>/drive`.
   * PostgreSQL: in its database, shared by every server on it (file bytes as shared blobs).
   */
  store: Store;
  /** Where Drive's file bytes go when the store is PostgreSQL (`openSharedBlobs`). */
  blobs?: SharedBlobs;
  /** The project a presented project key opens (`ProjectKeys.projectOf`). */
  projectOf(key: string): Promise<string | undefined>;
  /** What each project's drives may hold in all. */
  driveQuotaBytes: number;
  /** Where failures that are not the client's go. */
  operator?: Pick<Logger, "error">;
  /** Seconds since the epoch, for `__expires`; injected by tests. */
  clock?: Clock;
  /** How often expired items and abandoned uploads are removed. */
  sweepIntervalMs?: number;
  /** Where each Base and Drive operation is counted. */
  metrics?: Metrics;
}

/** Where Base and Drive keep their data, and what lets it go when the service stops. */
export interface DataStores {
  bases: Bases;
  drives: Drives;
  close(): void;
}

/** Base and Drive names: 1-255 characters, any but `/` and control characters. */
function validName(name: string): boolean {
  if (name.length === 0 || name.length > 255 || name.includes("/")) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

const BASE_RESOURCES = new Set(["items", "query"]);
const DRIVE_RESOURCES = new Set(["files", "uploads"]);

/**
 * Deta Base and Deta Drive, as the SDKs call them: `/v1/{project_id}/{name}/...`, or the 0.0.x SDK's
 * `/{project_id}/{name}/...`. One handler serves both (their resources do not overlap: `items` and `query` are
 * Base's, `files` and `uploads` Drive's), at a root (`database.deta.sh`, `drive.deta.sh`) or under a prefix of the
 * platform's own host (`/base`, `/drive`). Every request carries the project's key in `X-API-Key`; it opens only
 * that project's bases and drives. Nothing here knows about the control API's users or tokens.
 */
export class DataService {
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  readonly bases: Bases;
  readonly drives: Drives;

  private constructor(
    private readonly stores: DataStores,
    private readonly options: DataServiceOptions,
  ) {
    this.bases = stores.bases;
    this.drives = stores.drives;
    this.timer = setInterval(() => void this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.timer.unref();
  }

  /** On the store's kind of database; the PostgreSQL stores are imported only when chosen, as the store's are. */
  static async open(options: DataServiceOptions): Promise<DataService> {
    if (options.store.kind === "postgres") {
      const { openPgDataStores } = await import("./pg-data-stores.js");
      return new DataService(await openPgDataStores(options), options);
    }
    return new DataService(await openSqliteDataStores(options), options);
  }

  /**
   * Removes expired items and abandoned uploads (also run on a timer); on PostgreSQL, also the shared blobs nothing
   * names any more. Every server on one database sweeps: each deletes what is there, none fails on the others.
   */
  async sweep(): Promise<void> {
    if (this.closed) return;
    try {
      await this.bases.sweep();
      await this.drives.sweep();
    } catch (err) {
      this.options.operator?.error({ err }, "could not remove expired Base items or abandoned Drive uploads");
    }
  }

  /**
   * Answers one request. `path` is the request's path below where the service is mounted (the whole URL at a
   * root); `only` restricts it to one service, as `/base` and `/drive` on the platform's host do.
   */
  handle(req: IncomingMessage, res: ServerResponse, path = req.url ?? "/", only?: DataServiceName): void {
    this.serve(req, res, path, only).catch((err: unknown) => {
      if (err instanceof DetaError) {
        sendError(res, err);
        return;
      }
      // A client that went away mid-body or mid-download is no failure of ours.
      if (req.socket.destroyed) {
        res.destroy();
        return;
      }
      this.options.operator?.error({ err, path: path.split("?")[0] }, "a Base or Drive request failed");
      sendError(res, new DetaError(500, "Internal server error"));
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, path: string, only?: DataServiceName) {
    if (this.closed) throw new DetaError(503, "The server is stopping; try again soon");
    const mark = path.indexOf("?");
    const pathname = mark === -1 ? path : path.slice(0, mark);
    const search = mark === -1 ? "" : path.slice(mark + 1);
    let segments = pathname.split("/").slice(1);
    // `v1` is never a project id (ids are 12 characters), so the two shapes cannot be confused.
    if (segments[0] === "v1" && segments.length >= 4) segments = segments.slice(1);
    const [rawProject, rawName, ...rest] = segments;
    const resource = rest[0] ?? "";
    const service = BASE_RESOURCES.has(resource) ? "base" : DRIVE_RESOURCES.has(resource) ? "drive" : undefined;
    if (!rawProject || !rawName || !service || (only && only !== service)) throw new DetaError(404, "Not found");
    this.options.metrics?.dataOperation(service, dataOperation(service, req.method ?? "GET", rest), res);
    let projectId: string;
    let name: string;
    try {
      projectId = decodeURIComponent(rawProject);
      name = decodeURIComponent(rawName);
    } catch {
      throw badRequest("The path is not correctly URL-encoded");
    }
    // The key first: a wrong one learns nothing, not even whether the name is valid.
    const key = req.headers["x-api-key"];
    if (typeof key !== "string" || (await this.options.projectOf(key.trim())) !== projectId) throw unauthorized();
    if (!validName(name)) {
      throw badRequest(
        `${service === "base" ? "Base" : "Drive"} name is not valid: 1-255 characters, no / or control characters`,
      );
    }
    if (service === "base") await handleBase(this.bases, { projectId, base: name, rest }, req, res);
    else await handleDrive(this.drives, { projectId, drive: name, rest, query: new URLSearchParams(search) }, req, res);
  }

  /** Removes a deleted project's bases, drives and unfinished uploads, with their files. */
  async removeProject(projectId: string): Promise<void> {
    await this.bases.removeProject(projectId);
    await this.drives.removeProject(projectId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.stores.close();
  }
}

/** SQLite: `<data-dir>/data.db` for items and file records, file bytes under `<data-dir>/drive`. */
async function openSqliteDataStores(options: DataServiceOptions): Promise<DataStores> {
  const db = openDataDatabase(join(options.dataDir, "data.db"));
  try {
    const drives = new DriveStore(db, join(options.dataDir, "drive"), options.driveQuotaBytes);
    await drives.open();
    return { bases: new BaseStore(db, options.clock), drives, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Requests to the platform's own host for the data services: `/base/...` and `/drive/...`, with the path below
 * the prefix; undefined for anything else (the control API's).
 */
export function dataRoute(url: string | undefined): { service: DataServiceName; path: string } | undefined {
  if (!url) return undefined;
  for (const service of ["base", "drive"] as const) {
    const prefix = `/${service}/`;
    if (url.startsWith(prefix)) return { service, path: url.slice(prefix.length - 1) };
  }
  return undefined;
}
