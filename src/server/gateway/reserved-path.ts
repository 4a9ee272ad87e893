import { PROTOCOL } from "../../../runtimes/node/protocol.mjs";

const PREFIX = PROTOCOL.reservedPrefix.toLowerCase();
/** Anything in a request target that a server or framework may rewrite before the app routes on it. */
const REWRITABLE = /[%\\.]|\/\//;

/**
 * Whether a request target reaches the platform's reserved paths (`/__micros/...`) as the app will see it. Servers
 * and frameworks decode and tidy a path before routing on it: uvicorn and WSGI percent-decode (so `/%5F_micros/event`
 * and `/__micros%2Fevent` arrive as `/__micros/event`), some decode twice, some take `\` for `/` or resolve `..`,
 * some route without regard to case, and an absolute-form target (`http://host/path`) is routed on its path. The
 * target is refused if any of these readings lands under the prefix.
 */
export function isReservedPath(target: string): boolean {
  if (target.startsWith("/") && !REWRITABLE.test(target)) {
    // The common case, a plain path: nothing to decode.
    const query = target.indexOf("?");
    return reserved(query === -1 ? target : target.slice(0, query));
  }
  return reserved(appPath(target));
}

function reserved(path: string): boolean {
  const lower = path.toLowerCase();
  return lower.startsWith(PREFIX) || lower === PREFIX.slice(0, -1);
}

/** The path a lenient server would route `target` on. */
function appPath(target: string): string {
  let path = target;
  if (!path.startsWith("/")) {
    try {
      path = new URL(path).pathname;
    } catch {
      // Not a URL either: take it as it is.
    }
  }
  const query = path.search(/[?#]/);
  if (query !== -1) path = path.slice(0, query);
  // Decoded until nothing changes: each pass is shorter, so this ends.
  for (let decoded = decodeAscii(path); decoded !== path; decoded = decodeAscii(path)) path = decoded;
  const segments: string[] = [];
  for (const segment of path.replaceAll("\\", "/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}${path.endsWith("/") && segments.length > 0 ? "/" : ""}`;
}

/** Percent-escapes of ASCII characters decoded: the reserved prefix is ASCII, so nothing else can spell it. */
function decodeAscii(path: string): string {
  return path.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
