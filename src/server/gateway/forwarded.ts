import type { IncomingMessage } from "node:http";

/**
 * Headers that say who the client is. Only the gateway may set them: whatever
 * a client sent under these names is dropped, so an app can trust them.
 */
export const CLIENT_IDENTITY_HEADERS = new Set([
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-real-ip",
]);

/** RFC 7239 wants IPv6 addresses quoted and in brackets. */
function forwardedNode(address: string): string {
  return address.includes(":") ? `"[${address}]"` : address;
}

/** The client's address, the host it asked for and the scheme, as raw header pairs for the instance, added to `into`. */
export function clientHeaders(req: IncomingMessage, into: string[] = []): string[] {
  const remote = req.socket.remoteAddress ?? "";
  const address = remote.startsWith("::ffff:") ? remote.slice(7) : remote;
  const host = req.headers.host ?? "";
  const proto = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  into.push(
    "x-forwarded-for",
    address,
    "x-forwarded-host",
    host,
    "x-forwarded-proto",
    proto,
    "forwarded",
    `for=${forwardedNode(address)};host="${host}";proto=${proto}`,
  );
  return into;
}
