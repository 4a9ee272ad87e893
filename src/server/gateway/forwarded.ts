import type { IncomingMessage } from "node:http";
import { NODE_HEADERS } from "../cluster/node-auth.js";
import type { Client } from "./trusted-proxy.js";

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
  // What one node tells another of the client: meaningful between nodes only.
  ...NODE_HEADERS,
]);

/** RFC 7239 wants IPv6 addresses quoted and in brackets. */
function forwardedNode(address: string): string {
  return address.includes(":") ? `"[${address}]"` : address;
}

/**
 * The client's address, the host it asked for and the scheme, as raw header pairs for the instance, added to `into`.
 * `client` is the gateway's idea of who sent the request (trusted-proxy.ts): the peer, or whom a trusted proxy names.
 */
export function clientHeaders(req: IncomingMessage, client: Client, into: string[] = []): string[] {
  const { address, proto } = client;
  const host = req.headers.host ?? "";
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
