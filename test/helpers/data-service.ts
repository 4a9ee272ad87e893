/**
 * The Base and Drive services over HTTPS on 127.0.0.1, as the SDKs need them (they only speak https): a
 * certificate made with the host's openssl, a real store with two projects and their keys, and a request helper
 * that trusts the certificate. Cleanups are registered like every helper's.
 */

import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after } from "node:test";
import { promisify } from "node:util";
import { DataService, type DataServiceOptions } from "../../src/server/data/data-service.js";
import { ProjectKeys } from "../../src/server/project-keys.js";
import { Secrets } from "../../src/server/secrets.js";
import { useTmpDir } from "./micros.js";
import { useStore } from "./store.js";

/** Closed once the whole file is done (as micros.ts's cleanups, so a `before` hook may start one). */
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

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

export async function useDataService(
  options: Partial<Omit<DataServiceOptions, "dataDir" | "projectOf">> = {},
): Promise<DataServiceUnderTest> {
  const dataDir = await useTmpDir("micros-data-service-");
  const store = await useStore();
  const keys = new ProjectKeys(store.projects, await Secrets.load(dataDir));
  const owner = await store.users.create("owner", false);
  const project = await store.projects.create(owner.id, "default");
  const other = await store.projects.create((await store.users.create("someone", false)).id, "default");
  const service = await DataService.open({
    dataDir,
    projectOf: (key) => keys.projectOf(key),
    driveQuotaBytes: 10 * 1024 * 1024 * 1024,
    ...options,
  });
  const { keyFile, certFile } = await certificate(dataDir);
  const server: Server = createServer({ key: await readFile(keyFile), cert: await readFile(certFile) }, (req, res) =>
    service.handle(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    service.close();
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
