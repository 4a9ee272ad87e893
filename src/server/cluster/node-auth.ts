import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Client } from "../gateway/trusted-proxy.js";

/**
 * Headers a node adds to a request it forwards to another: who forwarded it, the client it came from, when, and a
 * signature over all of it and the request line under a key derived from the cluster secret. The gateway drops them
 * before a request reaches an app, whoever sent them.
 */
export const NODE_HEADERS = [
  "x-micros-node",
  "x-micros-client",
  "x-micros-client-proto",
  "x-micros-sent",
  "x-micros-signature",
] as const;

/** How far a forwarded request's time may be from the receiver's: a captured request cannot be replayed later. */
const MAX_SKEW_MS = 60_000;

/** What a signature covers: everything the receiver acts on. */
function signed(fields: { node: string; sent: string; client: string; proto: string }, req: IncomingMessage): string {
  return [fields.node, fields.sent, fields.client, fields.proto, req.method, req.headers.host, req.url].join("\n");
}

export type Verified = { ok: true; node: string; client: Client } | { ok: false; reason: string };

/** Signs and checks node-to-node requests with a key only holders of the cluster secret can derive. */
export class NodeAuth {
  private readonly key: Buffer;

  constructor(clusterSecret: string) {
    this.key = Buffer.from(hkdfSync("sha256", clusterSecret, "micros", "node-to-node requests", 32));
  }

  /** The headers for forwarding `req`, received from `client`, by node `node`. */
  headers(req: IncomingMessage, node: string, client: Client, now = Date.now()): Record<string, string> {
    const fields = { node, sent: String(now), client: client.address, proto: client.proto };
    return {
      "x-micros-node": fields.node,
      "x-micros-client": fields.client,
      "x-micros-client-proto": fields.proto,
      "x-micros-sent": fields.sent,
      "x-micros-signature": this.mac(signed(fields, req)),
    };
  }

  /** Whether `req` carries node headers at all: a request without them is a client's, with them a node's or forged. */
  static carries(req: IncomingMessage): boolean {
    return req.headers["x-micros-signature"] !== undefined || req.headers["x-micros-node"] !== undefined;
  }

  verify(req: IncomingMessage, now = Date.now()): Verified {
    const header = (name: (typeof NODE_HEADERS)[number]) => {
      const value = req.headers[name];
      return typeof value === "string" ? value : undefined;
    };
    const node = header("x-micros-node");
    const sent = header("x-micros-sent");
    const client = header("x-micros-client");
    const proto = header("x-micros-client-proto");
    const signature = header("x-micros-signature");
    if (!node || !sent || client === undefined || !proto || !signature) {
      return { ok: false, reason: "a node header is missing or repeated" };
    }
    const expected = Buffer.from(this.mac(signed({ node, sent, client, proto }, req)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "the signature does not match: the sender does not hold this cluster's secret" };
    }
    if (!/^\d{1,15}$/.test(sent) || Math.abs(now - Number(sent)) > MAX_SKEW_MS) {
      return { ok: false, reason: `it was signed more than ${MAX_SKEW_MS / 1000} s from this node's time` };
    }
    if (proto !== "http" && proto !== "https") return { ok: false, reason: "the client's scheme is not http or https" };
    return { ok: true, node, client: { address: client, proto } };
  }

  private mac(text: string): string {
    return createHmac("sha256", this.key).update(text).digest("base64url");
  }
}
