import assert from "node:assert/strict";
import { connect } from "node:net";
import { before, describe, it } from "node:test";
import { type Container, nodeContainer, readManifests } from "../helpers/kubernetes.js";
import { onCleanup, request, useServer } from "../helpers/micros.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../helpers/postgres.js";

/** kubelet sends the pod's IP and port as the Host, and no credentials. */
const KUBELET_HOST = "10.1.2.3:4000";

/** Whether something accepts a TCP connection on the port, as a tcpSocket probe asks. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("the StatefulSet's probes (deploy/kubernetes)", () => {
  let container: Container;
  const probes = () => [container.startupProbe, container.readinessProbe, container.livenessProbe];
  const paths = () => probes().flatMap((probe) => (probe.httpGet ? [probe.httpGet.path] : []));

  before(() => {
    container = nodeContainer(readManifests().objects);
  });

  it("ask a path the server answers without a token, and a port it listens on", async () => {
    const server = await useServer();
    assert.ok(paths().length > 0);
    for (const path of paths()) {
      const answer = await request(server.port, KUBELET_HOST, path);
      assert.equal(answer.status, 200, `${path}: ${answer.body}`);
      assert.deepEqual(JSON.parse(answer.body), { ok: true });
    }
    assert.ok(await accepts(server.port));
  });

  it("with the database gone, take the node out of the Service but do not restart it", {
    skip: TEST_DATABASE_URL
      ? undefined
      : "MICROS_TEST_DATABASE_URL is not set: set it to a PostgreSQL URL whose role may create databases to run this test",
  }, async () => {
    const database = await createTestDatabase();
    // Registered before the server, so it runs after the server's stop: once more, should the test end first.
    onCleanup(() => database.drop());
    const server = await useServer(["--database", database.url]);
    await database.drop();
    // The readiness probe fails: every request first reads the custom domains from the store.
    const path = container.readinessProbe.httpGet?.path;
    assert.ok(path, "readiness asks a path");
    assert.notEqual((await request(server.port, KUBELET_HOST, path)).status, 200);
    // The liveness probe only connects (test/unit/kubernetes-manifests.test.ts), which still works.
    assert.ok(await accepts(server.port));
  });
});
