import { extname } from "node:path";

/** The types a name's extension tells, for files stored without one (as Deta's Drive guessed them). */
const BY_EXTENSION: Record<string, string> = {
  ".txt": "text/plain",
  ".html": "text/html",
  ".htm": "text/html",
  ".css": "text/css",
  ".csv": "text/csv",
  ".md": "text/markdown",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".xml": "application/xml",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".tar": "application/x-tar",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".ogg": "audio/ogg",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
};

const FALLBACK = "application/octet-stream";
/** What the JS SDK sends when its caller gave no type: a default, not a choice. */
const SDK_DEFAULT = "binary/octet-stream";

/** The type a client declared, when it declared one. */
export function declaredType(header: string | undefined): string | undefined {
  const type = header?.trim();
  if (!type || type.toLowerCase() === SDK_DEFAULT || type.length > 255) return undefined;
  return type;
}

/** The type a file is served with: as declared, else as its name tells, else bytes. */
export function contentTypeFor(name: string, declared: string | undefined | null): string {
  return declared ?? BY_EXTENSION[extname(name).toLowerCase()] ?? FALLBACK;
}
