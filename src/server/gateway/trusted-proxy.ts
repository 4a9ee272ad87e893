import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import proxyaddr from "proxy-addr";

/** Who sent a request, as the gateway tells the app, the visor and the logs. */
export interface Client {
  address: string;
  proto: "http" | "https";
}

/** The client of a request: its peer, or, behind a trusted proxy, the one that proxy names. */
export type ClientOf = (req: IncomingMessage) => Client;

const plain = (address: string) => (address.startsWith("::ffff:") ? address.slice(7) : address);
const scheme = (value: string | undefined) => {
  const proto = value?.trim().toLowerCase();
  return proto === "http" || proto === "https" ? proto : undefined;
};

/** One element of an RFC 7239 Forwarded header: who the proxy that wrote it heard from, and over what. */
interface ForwardedHop {
  for: string;
  proto: string | undefined;
}

/** Forwarded's elements, first (nearest the client) to last; a `for` with a port or brackets is left a bare address. */
function forwardedHops(header: string): ForwardedHop[] {
  return header.split(",").map((element) => {
    const pairs = new Map<string, string>();
    for (const pair of element.split(";")) {
      const equals = pair.indexOf("=");
      if (equals === -1) continue;
      const value = pair.slice(equals + 1).trim();
      pairs.set(pair.slice(0, equals).trim().toLowerCase(), value.replace(/^"(.*)"$/, "$1"));
    }
    let node = pairs.get("for") ?? "";
    if (node.startsWith("[")) node = node.slice(1, node.indexOf("]") === -1 ? undefined : node.indexOf("]"));
    else if (/^[\d.]+:\d+$/.test(node)) node = node.slice(0, node.indexOf(":"));
    return { for: node, proto: pairs.get("proto") };
  });
}

/**
 * The gateway's idea of the client. From a peer in `trusted` (addresses and CIDR ranges, proxy-addr's syntax) the
 * client is read from the proxies' headers: walking back from the peer through X-Forwarded-For (or Forwarded, when
 * present) while each hop is trusted, as proxy-addr does; the scheme from that hop's Forwarded `proto`, else the
 * first X-Forwarded-Proto. From any other peer those headers mean nothing: the client is the peer. A hop that is no
 * address (`unknown`, an obfuscated name) ends the walk at the proxy before it.
 */
export function clientResolver(trusted: readonly string[]): ClientOf {
  const direct = (req: IncomingMessage): Client => ({
    address: plain(req.socket.remoteAddress ?? ""),
    proto: "encrypted" in req.socket && req.socket.encrypted ? "https" : "http",
  });
  if (trusted.length === 0) return direct;
  const trust = proxyaddr.compile([...trusted]);
  return (req) => {
    const peer = direct(req);
    if (!trust(peer.address, 0)) return peer;
    const forwarded = req.headers.forwarded;
    if (forwarded) {
      const hops = forwardedHops(forwarded);
      let client = peer;
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = hops[i] as ForwardedHop;
        if (isIP(hop.for) === 0) break;
        client = { address: plain(hop.for), proto: scheme(hop.proto) ?? client.proto };
        if (!trust(hop.for, hops.length - i)) break;
      }
      return client;
    }
    // [peer, ...X-Forwarded-For from the nearest hop back], cut after the first hop that is not trusted.
    const chain = proxyaddr.all(req, trust);
    const address = chain.findLast((hop) => isIP(hop) !== 0) ?? peer.address;
    const proto = scheme(req.headers["x-forwarded-proto"]?.toString().split(",")[0]);
    return { address: plain(address), proto: proto ?? peer.proto };
  };
}
