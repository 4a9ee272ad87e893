import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { MicroView } from "../../src/shared/api.js";
import {
  api,
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  processesIn,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

interface BootAnswer {
  boot: string;
  version: string;
  client: Record<string, string | null>;
  env: Record<string, string | null>;
}

describe("a micro's life: new, cold and warm requests, sleep, redeploy, failed deploy", () => {
  let server: MicrosServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let host: string;
  let micro: MicroView;
  let firstInstance: string;

  const get = async (path = "/") => {
    const res = await request(server.port, host, path);
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body) as BootAnswer;
  };
  const instances = async () =>
    (await api<{ micro: MicroView }>(server, `/v1/micros/${micro.id}`)).body.micro.instances;

  before(async () => {
    server = await useServer(["--idle-timeout", "1s"], { SERVER_SECRET: "the server's own environment" });
    dir = await copyApp("boot-id", "lifecycle");
    env = loggedIn(server, await useTmpDir());
    host = `lifecycle.localhost:${server.port}`;
  });

  it("`new` creates the micro from its folder, writes .micros/ and deploys the code", async () => {
    const result = await cli(["new", "--json"], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    micro = JSON.parse(result.stdout) as MicroView;
    assert.equal(micro.name, "lifecycle");
    assert.equal(micro.project, "default");
    assert.equal(micro.endpoint, `http://lifecycle.localhost:${server.port}`);
    assert.equal(micro.release?.version, 1);
    assert.match(result.stderr, /Creating micro lifecycle/);
    assert.match(result.stderr, /Release v1 is live/);
    const local = JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8"));
    assert.deepEqual(local, {
      id: micro.id,
      name: "lifecycle",
      project: "default",
      host: `http://localhost:${server.port}`,
    });
  });

  it("the first request starts an instance; later and concurrent ones reuse it", async () => {
    assert.deepEqual(await instances(), [], "nothing runs before the first request");
    const cold = await get();
    const warm = await get("/again");
    assert.equal(warm.boot, cold.boot);
    const concurrent = await Promise.all(Array.from({ length: 8 }, () => get("/together")));
    assert.deepEqual(new Set(concurrent.map((answer) => answer.boot)), new Set([cold.boot]));
    const running = await instances();
    assert.equal(running.length, 1);
    firstInstance = running[0]?.id ?? "";
  });

  it("the app sees the platform's variables and nothing of the server's environment", async () => {
    const { env: seen } = await get();
    const { MICROS_PROJECT_KEY: projectKey, DETA_PROJECT_KEY: detaProjectKey, ...rest } = seen;
    assert.match(projectKey ?? "", /^[a-z0-9]{12}_[\w-]{32}$/, "the project's key, as <project id>_<secret>");
    assert.equal(detaProjectKey, projectKey);
    assert.deepEqual(rest, {
      MICROS_MICRO_NAME: "lifecycle",
      MICROS_RUNTIME: micro.runtime,
      DETA_PATH: micro.subdomain,
      DETA_RUNTIME: "true",
      SERVER_SECRET: null,
      GREETING: null,
    });
  });

  it("the app learns the client's address from the gateway, and a client cannot forge it", async () => {
    const res = await request(server.port, host, "/", {
      headers: {
        "x-forwarded-for": "6.6.6.6",
        forwarded: "for=6.6.6.6",
        "x-real-ip": "6.6.6.6",
        "x-forwarded-proto": "https",
      },
    });
    assert.deepEqual((JSON.parse(res.body) as BootAnswer).client, {
      for: "127.0.0.1",
      host,
      proto: "http",
      forwarded: `for=127.0.0.1;host="${host}";proto=http`,
      realIp: null,
    });
  });

  it("environment variables reach new instances without a redeploy and are stored sealed", async () => {
    const put = (vars: Record<string, string>) =>
      fetch(`http://127.0.0.1:${server.port}/v1/micros/${micro.id}/env`, {
        method: "PUT",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify({ vars }),
      });
    const before = await get();
    const reserved = await put({ DETA_PATH: "elsewhere" });
    assert.equal(reserved.status, 400);
    assert.match(((await reserved.json()) as { error: { message: string } }).error.message, /DETA_PATH is reserved/);

    const set = await put({ GREETING: "a value only the app may read" });
    assert.equal(set.status, 200);
    assert.deepEqual(await set.json(), { envVars: ["GREETING"] });
    const after = await get();
    assert.notEqual(after.boot, before.boot, "a new instance serves with the new environment");
    assert.equal(after.env.GREETING, "a value only the app may read");
    for (const file of ["micros.db", "micros.db-wal"]) {
      const bytes = await readFile(join(server.dataDir, file)).catch(() => Buffer.alloc(0));
      assert.ok(!bytes.includes("a value only the app may read"), `${file} holds no plain value`);
    }
  });

  it("an idle instance goes to sleep and the next request starts a fresh one", async () => {
    const before = await get();
    await waitFor("the idle instance to stop", async () => ((await instances()).length === 0 ? true : undefined));
    const after = await get();
    assert.notEqual(after.boot, before.boot);
  });

  it("a redeploy switches to the new code without failing a request", async () => {
    await get();
    const source = await readFile(join(dir, "index.js"), "utf8");
    await writeFile(join(dir, "index.js"), source.replace('const version = "one"', 'const version = "two"'));

    let deployed = false;
    const seen: { status: number; version: string | undefined; afterDeploy: boolean }[] = [];
    const load = (async () => {
      while (!deployed || seen.at(-1)?.version !== "two") {
        const afterDeploy = deployed;
        const res = await request(server.port, host, "/during-deploy");
        seen.push({
          status: res.status,
          version: res.status === 200 ? JSON.parse(res.body).version : undefined,
          afterDeploy,
        });
      }
    })();
    const result = await cli(["deploy"], { cwd: dir, env });
    deployed = true;
    await load;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Deployed lifecycle v2/);
    assert.deepEqual(
      seen.filter((r) => r.status !== 200),
      [],
      "every request during the switch succeeded",
    );
    assert.ok(seen.length > 1);
    assert.deepEqual(
      seen.filter((r) => r.afterDeploy).map((r) => r.version),
      seen.filter((r) => r.afterDeploy).map(() => "two"),
      "once deploy returns, only the new code answers",
    );
  });

  it("a deploy whose dependencies fail to install leaves the previous release serving", async () => {
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({ name: "lifecycle", dependencies: { "micros-test-no-such-package-4b1d": "1.0.0" } }),
    );
    const result = await cli(["deploy"], { cwd: dir, env });
    await rm(join(dir, "package.json"));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Installing dependencies failed: npm install failed/);
    assert.match(result.stderr, /micros-test-no-such-package-4b1d/, "npm's own output is shown");
    assert.equal((await get()).version, "two");
    const details = await cli(["details", "--json"], { cwd: dir, env });
    assert.equal((JSON.parse(details.stdout) as MicroView).release?.version, 2);
  });

  it("`logs` shows the app's output and what the platform did, oldest first", async () => {
    const result = await cli(["logs"], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    for (const line of lines) assert.match(line, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] /);
    const text = result.stdout;
    assert.ok(text.includes(`] [${firstInstance}] handled GET /again`), "each line names the instance that printed it");
    assert.match(text, /\[micros\] release v1 is live/);
    assert.match(text, /\[micros\] instance \w+ is going to sleep/);
    assert.match(text, /\[micros\] deploy failed, the previous release keeps serving: Installing dependencies failed/);
    assert.ok(text.indexOf("release v1 is live") < text.indexOf("release v2 is live"));
  });

  it("`details` prints the endpoint, release and settings", async () => {
    const result = await cli(["details"], { cwd: join(dir), env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`endpoint: +http://lifecycle\\.localhost:${server.port}`));
    assert.match(result.stdout, /release: +v2 /);
    assert.match(result.stdout, /http auth: +disabled/);
    assert.match(result.stdout, /env vars: +GREETING\n/);
  });

  it("an unknown subdomain answers 404 naming it", async () => {
    const res = await request(server.port, `nothing-here.localhost:${server.port}`);
    assert.equal(res.status, 404);
    const body = JSON.parse(res.body);
    assert.equal(body.error.code, "ERR_MICRO_NOT_FOUND");
    assert.match(body.error.message, /"nothing-here"/);
  });

  it("the API refuses a bad token (401) and another user's micro (403)", async () => {
    const bad = await cli(["details"], { cwd: dir, env: { ...env, MICROS_ACCESS_TOKEN: "micros_not-a-token" } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /The access token is not valid/);
    assert.equal((await api(server, `/v1/micros/${micro.id}`, "micros_not-a-token")).status, 401);

    const created = await fetch(`http://127.0.0.1:${server.port}/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "someone-else" }),
    });
    assert.equal(created.status, 201);
    const { token } = (await created.json()) as { token: string };
    const other = await api<{ error: { code: string } }>(server, `/v1/micros/${micro.id}`, token);
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, "ERR_FORBIDDEN");
  });

  it("the server stops cleanly on SIGTERM, taking its instances with it", async () => {
    await get();
    assert.equal((await instances()).length, 1);
    assert.equal(await server.stop(), 0);
    assert.match(server.output(), /stopping instances and shutting down/);
    assert.deepEqual(await processesIn(server.dataDir), [], "no instance process outlives the server");
  });
});
