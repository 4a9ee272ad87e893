/**
 * Two nodes on loopback sharing one PostgreSQL database: they see each other, forward each micro's requests to the
 * one node that runs it, pass changes and log lines between them, refuse forged node requests, and survive the loss
 * of either. (test/e2e/cluster.test.ts runs three nodes, each in a network namespace of its own.)
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { ownerOf } from "../../src/server/cluster/placement.js";
import type { NodeView } from "../../src/shared/api.js";
import {
  cli,
  loggedIn,
  type MicrosServer,
  ROOT,
  request,
  useServer,
  useTmpDir,
  waitFor,
  writeApp,
} from "../helpers/micros.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../helpers/postgres.js";

const SECRET = "nodes-test-secret-0123456789abcdefghijklmnop";

/** Answers with which process (so which instance) served, how many it served, and a variable. */
const APP = `const http = require("node:http");
let served = 0;
http.createServer((req, res) => {
  served++;
  if (req.url === "/print") console.log("printed on " + process.env.MICROS_TEST_MARK + " " + served);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ pid: process.pid, served, greeting: process.env.GREETING ?? null, client: req.headers["x-forwarded-for"] }));
}).listen(process.env.PORT);
`;

interface Answer {
  pid: number;
  served: number;
  greeting: string | null;
  client: string;
}

describe("two nodes on one database", {
  skip: TEST_DATABASE_URL ? false : "MICROS_TEST_DATABASE_URL is not set",
}, () => {
  let database: string;
  let first: MicrosServer;
  let second: MicrosServer;
  let app: string;
  let env: NodeJS.ProcessEnv;
  let microId: string;
  const host = (server: MicrosServer) => `nodes-app.localhost:${server.port}`;
  const ask = async (server: MicrosServer, path = "/") => {
    const res = await request(server.port, host(server), path);
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body) as Answer;
  };
  /** The CLI through `server`, with the admin's token (the first node wrote it). */
  const through = (server: MicrosServer) => ({ ...env, MICROS_HOST: `http://localhost:${server.port}` });
  const nodes = async (server: MicrosServer) =>
    JSON.parse((await cli(["nodes", "--json"], { cwd: app, env: through(server) })).stdout) as NodeView[];
  /** The server whose node the micro's requests go to, and the other. */
  const owner = async () => {
    const listed = await nodes(first);
    const ownerId = ownerOf(
      microId,
      listed.filter((node) => node.live).map((node) => node.id),
    );
    const firstId = listed.find((node) => node.self)?.id;
    return ownerId === firstId ? { owner: first, other: second } : { owner: second, other: first };
  };

  before(async () => {
    if (!TEST_DATABASE_URL) return;
    const created = await createTestDatabase();
    database = created.url;
    const flags = ["--database", database, "--cluster-secret", SECRET];
    first = await useServer(flags);
    second = await useServer(flags, {}, undefined, { token: first.token });
    app = join(await useTmpDir(), "nodes-app");
    env = loggedIn(first, await useTmpDir());
    await mkdir(app);
    await writeApp(app, { "index.js": APP, "package.json": JSON.stringify({ name: "nodes-app", main: "index.js" }) });
    const made = await cli(["new", "--node"], { cwd: app, env });
    assert.equal(made.code, 0, made.stderr);
    const details = await cli(["details", "--json"], { cwd: app, env });
    microId = (JSON.parse(details.stdout) as { id: string }).id;
  });

  it("each node lists both as live, itself marked", async () => {
    for (const server of [first, second]) {
      const listed = await nodes(server);
      assert.equal(listed.length, 2);
      assert.ok(listed.every((node) => node.live));
      assert.equal(listed.filter((node) => node.self).length, 1);
    }
  });

  it("a micro deployed through one node answers through both, from one instance", async () => {
    const answers = [await ask(first), await ask(second), await ask(first), await ask(second)];
    assert.equal(new Set(answers.map((answer) => answer.pid)).size, 1, JSON.stringify(answers));
    assert.deepEqual(
      answers.map((answer) => answer.served),
      [1, 2, 3, 4],
    );
    // The app is told the client's address, not the forwarding node's.
    assert.ok(answers.every((answer) => answer.client === "127.0.0.1"));
  });

  it("a request that claims to come from a node without the secret is refused, and the server log says so", async () => {
    for (const headers of <Record<string, string>[]>[
      { "x-micros-node": "intruder", "x-micros-client": "6.6.6.6", "x-micros-client-proto": "https" },
      {
        "x-micros-node": "intruder",
        "x-micros-client": "6.6.6.6",
        "x-micros-client-proto": "https",
        "x-micros-sent": String(Date.now()),
        "x-micros-signature": "AAAA",
      },
    ]) {
      const res = await request(first.port, host(first), "/", { headers });
      assert.equal(res.status, 403, res.body);
      assert.match(JSON.parse(res.body).error.message, /node headers that do not check out/);
    }
    await waitFor("the refusal in the server's log", async () =>
      /refused a request that claimed to come from another node/.test(first.output()) ? true : undefined,
    );
  });

  it("an environment change through the node that does not run the micro reaches its instance", async () => {
    const { other } = await owner();
    const dir = await useTmpDir();
    await writeApp(dir, { ".env": "GREETING=hello from the other node\n" });
    const updated = await cli(["update", "--env", join(dir, ".env")], { cwd: app, env: through(other) });
    assert.equal(updated.code, 0, updated.stderr);
    const answer = await waitFor("the new variable through both nodes", async () => {
      const [a, b] = [await ask(first), await ask(second)];
      return a.greeting === "hello from the other node" && b.greeting === a.greeting ? a : undefined;
    });
    assert.equal(answer.greeting, "hello from the other node");
  });

  it("`micros logs --follow` through one node shows a line printed while the other served", async () => {
    const { owner: runs, other } = await owner();
    const follower = spawn(process.execPath, [join(ROOT, "bin", "micros.js"), "logs", "--follow"], {
      cwd: app,
      env: { ...process.env, ...through(other) },
    });
    let out = "";
    follower.stdout.on("data", (chunk: Buffer) => {
      out += chunk;
    });
    try {
      // Sent straight to the node that runs the micro: the line is printed and stored there.
      await waitFor(
        "the printed line through the other node",
        async () => {
          await ask(runs, "/print");
          return /printed on/.test(out) ? true : undefined;
        },
        20_000,
      );
    } finally {
      follower.kill();
    }
  });

  it("a node given another secret does not start, and says why", async () => {
    const refused = await useServer(
      ["--database", database, "--cluster-secret", `${SECRET}-not-the-same`],
      {},
      undefined,
      { token: first.token },
    ).then(
      () => undefined,
      (err: Error) => err.message,
    );
    assert.match(refused ?? "", /--cluster-secret is not the secret the nodes already on this database were given/);
    // Started by hand: useServer would give it a PostgreSQL database of its own.
    const sqlite = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, "bin", "micros.js"), "server", "--port", "0", "--cluster-secret", SECRET],
        { cwd: app },
        (_err, stdout, stderr) => resolve(stdout + stderr),
      );
    });
    assert.match(sqlite, /--cluster-secret needs --database postgres/);
  });

  it("when the node that runs the micro is killed, the other serves it within seconds, and it rejoins", async () => {
    const { owner: runs, other } = await owner();
    runs.process.kill("SIGKILL");
    await new Promise((resolve) => runs.process.once("exit", resolve));
    const answer = await waitFor(
      "the micro through the surviving node",
      async () => {
        const res = await request(other.port, host(other));
        return res.status === 200 ? (JSON.parse(res.body) as Answer) : undefined;
      },
      30_000,
    );
    assert.equal(answer.greeting, "hello from the other node", "the variable survived");
    const listed = await waitFor("the killed node out of the pool", async () => {
      const all = await nodes(other);
      return all.some((node) => !node.self && !node.live) ? all : undefined;
    });
    assert.equal(listed.filter((node) => node.live).length, 1);
    // Back on its data dir: the same node id, live again, without a restart of the survivor.
    const back = await useServer(["--database", database, "--cluster-secret", SECRET], {}, runs.dataDir, {
      token: first.token,
    });
    await waitFor("both nodes live again", async () => {
      const all = await nodes(other);
      return all.length === 2 && all.every((node) => node.live) ? true : undefined;
    });
    assert.equal((await request(back.port, host(back))).status, 200);
  });
});
