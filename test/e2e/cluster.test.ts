import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type Cluster, type ClusterNode, useCluster } from "../helpers/cluster.js";
import { copyApp } from "../helpers/micros.js";

/** What the cluster fixture answers (test/fixtures/cluster). */
interface Answer {
  instance: string;
  served: number;
  address: string | null;
  greeting: string | null;
}

async function answer(node: ClusterNode, subdomain: string, path = "/"): Promise<Answer> {
  const res = await node.request(subdomain, path);
  assert.equal(res.status, 200, `${node.name}: ${res.body}`);
  return JSON.parse(res.body) as Answer;
}

describe("a server in a network namespace of its own, with PostgreSQL in another", () => {
  let cluster: Cluster;
  let node: ClusterNode;

  before(async () => {
    cluster = await useCluster({ members: false });
    node = await cluster.addNode("solo");
  });

  it("deploys a micro through the CLI, sandboxes it, and serves it to a client on another host", async () => {
    const dir = await copyApp("cluster", "solo");
    const created = await node.cli(["new"], dir);
    assert.equal(created.code, 0, created.stderr);
    const first = await answer(node, "solo");
    assert.equal(first.served, 1);
    // The instance has a network of its own, joined to the node's namespace: a sandbox's subnet.
    assert.match(first.address ?? "", /^10\.(1\d\d)\./);
    const second = await answer(node, "solo");
    assert.deepEqual([second.instance, second.served], [first.instance, 2]);

    // Base, from inside the micro and through the CLI, is kept in the PostgreSQL of the other namespace.
    const put = await node.cli(["base", "put", "cluster", JSON.stringify({ key: "hits", n: 0 })], dir);
    assert.equal(put.code, 0, put.stderr);
    await answer(node, "solo", "/increment?key=hits");
    const got = await node.cli(["base", "get", "cluster", "hits"], dir);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(JSON.parse(got.stdout), { key: "hits", n: 1 });
  });
});
