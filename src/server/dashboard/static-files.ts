import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Where `npm run build` puts the dashboard; the server runs from dist/src/server/dashboard/. */
export const BUILT_DASHBOARD = fileURLToPath(new URL("../../../dashboard/", import.meta.url));

/**
 * Nothing but the dashboard's own files: scripts and styles from this host only, no inline script, no framing.
 * What a micro printed or stored is shown as text by the page, and this keeps even a slip from running anything.
 */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Vite names what it puts here after the content's hash: a new build gets new names, so these never change. */
const HASHED_FOLDER = "assets/";
/** Compressing smaller files gains less than the header costs. */
const GZIP_MIN_BYTES = 1024;

/**
 * The dashboard's pages, which the browser may load or reload at any of its addresses: each gets index.html and the
 * page's script decides what to show. Only these: any other path (`/v1/...`, `/healthz`, a mistyped file) gets the
 * API's own answer, never a page standing in for it.
 */
const PAGE_PATH = /^\/(?:|micros(?:\/[^/]+(?:\/[a-z-]+)?)?|projects\/[^/]+\/[a-z-]+)$/;

interface StaticFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  cache: string;
}

export interface DashboardFiles {
  /** Whether this request is the dashboard's: a GET or HEAD for one of its files or pages. */
  handles(req: IncomingMessage): boolean;
  serve(req: IncomingMessage, res: ServerResponse): void;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Reads the built dashboard into memory once (it is small), each file compressed ahead, so serving it costs a map
 * lookup. A server started without a build answers the dashboard's pages with a line saying how to make one.
 */
export async function loadDashboard(dir = BUILT_DASHBOARD): Promise<DashboardFiles> {
  const files = new Map<string, StaticFile>();
  const paths = await listFiles(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  for (const path of paths) {
    const type = CONTENT_TYPES[extname(path)];
    if (!type) continue;
    const name = relative(dir, path).split(sep).join("/");
    const body = await readFile(path);
    const compressible = !type.startsWith("image/png") && !type.startsWith("font/");
    files.set(`/${name}`, {
      body,
      gzip: compressible && body.length >= GZIP_MIN_BYTES ? gzipSync(body) : undefined,
      type,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      cache: name.startsWith(HASHED_FOLDER) ? "public, max-age=31536000, immutable" : "no-cache",
    });
  }
  const index = files.get("/index.html");

  return {
    handles(req) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      const path = pathOf(req);
      return files.has(path) || PAGE_PATH.test(path);
    },
    serve(req, res) {
      const file = files.get(pathOf(req)) ?? index;
      if (!file) {
        res.writeHead(503, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS });
        res.end("The dashboard is not built: run `npm run build` and start the server again.\n");
        return;
      }
      const headers: Record<string, string> = {
        ...SECURITY_HEADERS,
        "content-type": file.type,
        "cache-control": file.cache,
        etag: file.etag,
        vary: "accept-encoding",
      };
      if (req.headers["if-none-match"] === file.etag) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      const gzip = file.gzip && /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
      const body = gzip ? (file.gzip as Buffer) : file.body;
      if (gzip) headers["content-encoding"] = "gzip";
      headers["content-length"] = String(body.length);
      res.writeHead(200, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    },
  };
}
