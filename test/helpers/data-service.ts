/**
 * The Base and Drive services over HTTPS on 127.0.0.1, as the SDKs need them (they only speak https): a
 * certificate made with the host's openssl, a real store with two projects and their keys, and a request helper
 * that trusts the certificate. Also the services alone on a store of either kind, for the stores' own tests.
 * Cleanups are registered like every helper's.
 */

import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after } from "node:test";
import { promisify } from "node:util";
import { openSharedBlobs } from "../../src/server/blobs/open-shared-blobs.js";
import { DataService, type DataServiceOptions } from "../../src/server/data/data-service.js";
import { ProjectKeys } from "../../src/server/project-keys.js";
import { Secrets } from "../../src/server/secrets.js";
import type { Store } from "../../src/server/store/store.js";
import { onCleanup, useTmpDir } from "./micros.js";
import { type StoreKind, useStoreOf } from "./store.js";

/** Closed once the whole file is done (as micros.ts's cleanups, so a `before` hook may start one). */
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

export type DataOptions = Partial<Omit<DataServiceOptions, "dataDir" | "store" | "blobs">>;

export interface DataStoresUnderTest {
  service: DataService;
  store: Store;
  dataDir: string;
  /** The PostgreSQL database's URL, for another server on it. */
  url?: string;
}

/**
 * Base and Drive as a server opens them, on a new store of that kind in a data directory of their own; or, with
 * `url`, on that PostgreSQL database as another server would be. Closed once the file's tests are done.
 */
export async function useDataStores(
  kind: StoreKind,
  options: DataOptions & { url?: string } = {},
): Promise<DataStoresUnderTest> {
  const { url: sharedUrl, ...serviceOptions } = options;
  const dataDir = await useTmpDir("micros-data-stores-");
  const { store, url } = await useStoreOf(kind, sharedUrl);
  const service = await DataService.open({
    dataDir,
    store,
    blobs: await openSharedBlobs(store, dataDir),
    projectOf: async () => undefined,
    driveQuotaBytes: 10 * 1024 * 1024 * 1024,
    ...serviceOptions,
  });
  onCleanup(async () => service.close());
  return { service, store, dataDir, ...(url !== undefined && { url }) };
}

export interface DataServiceUnderTest {
  port: number;
  /** `127.0.0.1:<port>`: what DETA_BASE_HOST and DETA_DRIVE_HOST take. */
  host: string;
  /** The certificate, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  ca: Buffer;
  dataDir: string;
  service: DataService;
  projectId: string;
  key: string;
  /** A second project, someone else's. */
  otherProjectId: string;
  otherKey: string;
}

/** A self-signed certificate for 127.0.0.1, made once per test file. */
async function certificate(dir: string): Promise<{ keyFile: string; certFile: string }> {
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  await promisify(execFile)("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  return { keyFile, certFile };
}

/** The services over HTTPS, on a store of that kind, with two projects of two owners. */
export async function useDataService(
  kind: StoreKind,
  options: Omit<DataOptions, "projectOf"> = {},
): Promise<DataServiceUnderTest> {
  let keys: ProjectKeys | undefined;
  const { service, store, dataDir } = await useDataStores(kind, {
    ...options,
    projectOf: async (key) => keys?.projectOf(key),
  });
  keys = new ProjectKeys(store.projects, await Secrets.load(dataDir));
  const owner = await store.users.create("owner", false);
  const project = await store.projects.create(owner.id, "default");
  const other = await store.projects.create((await store.users.create("someone", false)).id, "default");
  const { keyFile, certFile } = await certificate(dataDir);
  const server: Server = createServer({ key: await readFile(keyFile), cert: await readFile(certFile) }, (req, res) =>
    service.handle(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    host: `127.0.0.1:${port}`,
    caFile: certFile,
    ca: await readFile(certFile),
    dataDir,
    service,
    projectId: project.id,
    key: await keys.keyFor(project.id),
    otherProjectId: other.id,
    otherKey: await keys.keyFor(other.id),
  };
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body as JSON, when it is. */
  json: unknown;
}

/** A request to the service as any client would send it. */
export function call(
  service: DataServiceUnderTest,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; raw?: Buffer | string; headers?: Record<string, string> } = {},
): Promise<HttpsResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers["X-API-Key"] = options.key;
  let payload: Buffer | string | undefined = options.raw;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(options.body);
  }
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: service.port, path, method, headers, ca: service.ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on("error", reject);
      },
    );
    // A server that refuses a body early closes before all of it is sent: its answer may still come.
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE" || err.code === "ECONNRESET") setTimeout(() => reject(err), 2000).unref();
      else reject(err);
    });
    req.end(payload);
  });
}
