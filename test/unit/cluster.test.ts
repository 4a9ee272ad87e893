import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { Membership } from "../../src/server/cluster/membership.js";
import { NodeAuth } from "../../src/server/cluster/node-auth.js";
import { ownerOf } from "../../src/server/cluster/placement.js";
import { sharedSecrets } from "../../src/server/cluster/sealing-key.js";
import type { NodeRecord, Nodes } from "../../src/server/store/nodes.js";

const SECRET = "a-cluster-secret-of-thirty-two-characters-or-more";
const QUIET = { info() {}, warn() {} };

function req(method: string, url: string, host: string, headers: Record<string, string> = {}): IncomingMessage {
  return { method, url, headers: { host, ...headers } } as unknown as IncomingMessage;
}

/** The nodes table in memory: what Membership and the sealing key read and write, nothing else. */
class MemoryNodes implements Nodes {
  readonly rows = new Map<string, NodeRecord>();
  readonly keys = new Map<string, Buffer>();
  async join(node: { id: string; address: string; capacity: number }) {
    this.rows.set(node.id, { ...node, live: true, startedAt: Date.now(), heartbeatAt: Date.now() });
  }
  async beat(node: { id: string; address: string; capacity: number }) {
    const row = this.rows.get(node.id);
    this.rows.set(node.id, { ...node, live: true, startedAt: row?.startedAt ?? Date.now(), heartbeatAt: Date.now() });
  }
  async list() {
    return [...this.rows.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
  async leave(id: string) {
    this.rows.delete(id);
  }
  async sharedKey(name: string, wrapped: Buffer) {
    if (!this.keys.has(name)) this.keys.set(name, wrapped);
    return this.keys.get(name) as Buffer;
  }
}

describe("placement: the node that runs a micro", () => {
  const micros = Array.from({ length: 2000 }, (_, i) => `micro${i}`);

  it("is the same whatever order the nodes are listed in", () => {
    for (const micro of micros.slice(0, 50)) {
      assert.equal(ownerOf(micro, ["a", "b", "c"]), ownerOf(micro, ["c", "a", "b"]));
    }
    assert.equal(ownerOf("m", []), undefined);
  });

  it("moves only the micros of a node that leaves, and spreads them over the rest", () => {
    const before = new Map(micros.map((micro) => [micro, ownerOf(micro, ["a", "b", "c"])]));
    const counts = new Map<string, number>();
    for (const micro of micros) {
      const after = ownerOf(micro, ["a", "c"]) as string;
      if (before.get(micro) !== "b") assert.equal(after, before.get(micro), `${micro} moved though its node stayed`);
      counts.set(before.get(micro) as string, (counts.get(before.get(micro) as string) ?? 0) + 1);
    }
    // Each of three nodes holds about a third: far from all or none.
    for (const node of ["a", "b", "c"])
      assert.ok((counts.get(node) ?? 0) > micros.length / 5, `${node}: ${counts.get(node)}`);
  });
});

describe("node-to-node requests", () => {
  const auth = new NodeAuth(SECRET);
  const client = { address: "203.0.113.7", proto: "https" as const };

  it("are believed, with the client they name, when signed with the cluster's secret", () => {
    const headers = auth.headers(req("GET", "/a?b=1", "app.localhost:4000"), "node1", client);
    const verified = auth.verify(req("GET", "/a?b=1", "app.localhost:4000", headers));
    assert.deepEqual(verified, { ok: true, node: "node1", client });
  });

  it("are refused when anything signed was changed, or the secret differs, or the time is far off", () => {
    const signedFor = req("GET", "/a", "app.localhost:4000");
    const headers = auth.headers(signedFor, "node1", client);
    const refused = (request: IncomingMessage, verifier: NodeAuth = auth, now?: number) => {
      const verified = verifier.verify(request, now);
      assert.equal(verified.ok, false);
      return verified.ok ? "" : verified.reason;
    };
    assert.match(refused(req("GET", "/b", "app.localhost:4000", headers)), /signature/);
    assert.match(refused(req("POST", "/a", "app.localhost:4000", headers)), /signature/);
    assert.match(refused(req("GET", "/a", "other.localhost:4000", headers)), /signature/);
    assert.match(
      refused(req("GET", "/a", "app.localhost:4000", { ...headers, "x-micros-client": "10.0.0.1" })),
      /signature/,
    );
    assert.match(
      refused(req("GET", "/a", "app.localhost:4000", headers), new NodeAuth(`${SECRET}-other`)),
      /signature/,
    );
    assert.match(refused(req("GET", "/a", "app.localhost:4000", headers), auth, Date.now() + 120_000), /60 s/);
    const { "x-micros-sent": _sent, ...missing } = headers;
    assert.match(refused(req("GET", "/a", "app.localhost:4000", missing)), /missing/);
  });

  it("are told apart from a client's request by their headers", () => {
    assert.equal(NodeAuth.carries(req("GET", "/", "h")), false);
    assert.equal(NodeAuth.carries(req("GET", "/", "h", { "x-micros-node": "x" })), true);
  });
});

describe("the sealing key the nodes share", () => {
  it("is the first node's own key, opened by every node given the same secret", async () => {
    const nodes = new MemoryNodes();
    const first = await sharedSecrets(Buffer.alloc(32, 1), SECRET, nodes);
    const second = await sharedSecrets(Buffer.alloc(32, 2), SECRET, nodes);
    assert.equal(second.open(first.seal("value")), "value");
    // What the first node sealed with its own key before it joined still opens.
    const { Secrets } = await import("../../src/server/secrets.js");
    assert.equal(second.open(Secrets.withKey(Buffer.alloc(32, 1)).seal("old")), "old");
  });

  it("stops a node given another secret, saying so", async () => {
    const nodes = new MemoryNodes();
    await sharedSecrets(Buffer.alloc(32, 1), SECRET, nodes);
    await assert.rejects(sharedSecrets(Buffer.alloc(32, 2), `${SECRET}-wrong`, nodes), (err: Error) => {
      assert.match(err.message, /same one/);
      return true;
    });
  });
});

describe("membership: the pool of live nodes", () => {
  it("holds the live nodes and this one; a node found unreachable leaves it until it heartbeats again", async () => {
    const nodes = new MemoryNodes();
    const other = { id: "bbbbbbbbbbbb", address: "http://10.0.0.2:4000", capacity: 8 };
    await nodes.join(other);
    const self = { id: "aaaaaaaaaaaa", address: "http://10.0.0.1:4000", capacity: 8 };
    const membership = await Membership.join({ nodes, self, operator: QUIET, heartbeatMs: 10, liveWithinMs: 60_000 });
    try {
      assert.deepEqual(membership.pool(), [self.id, other.id]);
      assert.equal(membership.addressOf(other.id), other.address);
      membership.markUnreachable(other.id);
      assert.deepEqual(membership.pool(), [self.id]);
      membership.markUnreachable(self.id);
      assert.deepEqual(membership.pool(), [self.id], "a node never leaves its own pool");
      // The other node heartbeats after the failure (it came back): it is in the pool again.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await nodes.beat(other);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(membership.pool(), [self.id, other.id]);
    } finally {
      await membership.close();
    }
    assert.equal(nodes.rows.has(self.id), false, "a node that stops leaves the table");
  });
});
