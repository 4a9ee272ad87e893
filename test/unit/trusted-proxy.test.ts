import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { clientResolver } from "../../src/server/gateway/trusted-proxy.js";

/** Only what the resolver reads of a request: its peer, whether it came over TLS, its headers. */
function req(peer: string, headers: Record<string, string> = {}, encrypted = false): IncomingMessage {
  return { socket: { remoteAddress: peer, encrypted }, headers } as unknown as IncomingMessage;
}

describe("the client of a request, through trusted proxies", () => {
  const HEADERS = { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https" };

  it("trusts nobody by default: the peer is the client, whatever it claims", () => {
    assert.deepEqual(clientResolver([])(req("::ffff:198.51.100.1", HEADERS)), {
      address: "198.51.100.1",
      proto: "http",
    });
    assert.deepEqual(clientResolver([])(req("198.51.100.1", {}, true)), { address: "198.51.100.1", proto: "https" });
  });

  it("takes X-Forwarded-For and -Proto from a trusted peer only", () => {
    const clientOf = clientResolver(["10.0.0.0/8"]);
    assert.deepEqual(clientOf(req("10.1.2.3", HEADERS)), { address: "203.0.113.7", proto: "https" });
    assert.deepEqual(clientOf(req("192.0.2.1", HEADERS)), { address: "192.0.2.1", proto: "http" });
  });

  it("walks back through trusted hops only: an address a client put first is not believed", () => {
    const clientOf = clientResolver(["10.0.0.1", "10.0.0.2"]);
    const chain = { "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.2" };
    assert.equal(clientOf(req("10.0.0.1", chain)).address, "203.0.113.7");
  });

  it("ends the walk at the last proxy when a hop is not an address", () => {
    const clientOf = clientResolver(["10.0.0.1"]);
    assert.equal(clientOf(req("10.0.0.1", { "x-forwarded-for": "not-an-ip" })).address, "10.0.0.1");
    assert.equal(clientOf(req("10.0.0.1", { forwarded: "for=unknown" })).address, "10.0.0.1");
  });

  it("reads RFC 7239 Forwarded: quoted IPv6 with a port, IPv4 with a port, each hop's proto", () => {
    const clientOf = clientResolver(["10.0.0.1", "10.0.0.2"]);
    assert.deepEqual(clientOf(req("10.0.0.1", { forwarded: 'for="[2001:db8::7]:4711";proto=https' })), {
      address: "2001:db8::7",
      proto: "https",
    });
    const twoHops = { forwarded: "for=192.0.2.9:5000;proto=https, for=10.0.0.2;proto=http" };
    assert.deepEqual(clientOf(req("10.0.0.1", twoHops)), { address: "192.0.2.9", proto: "https" });
  });

  it("understands proxy-addr's names: loopback", () => {
    assert.equal(clientResolver(["loopback"])(req("127.0.0.1", HEADERS)).address, "203.0.113.7");
  });
});
