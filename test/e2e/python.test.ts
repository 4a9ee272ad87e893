import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { MicroView } from "../../src/shared/api.js";
import {
  api,
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  request,
  useServer,
  useTmpDir,
  waitFor,
  writeApp,
} from "../helpers/micros.js";

describe("Python micros: lifespan events, background tasks and clear errors", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let micro: MicroView;

  before(async () => {
    server = await useServer(["--idle-timeout", "1s"]);
    env = loggedIn(server, await useTmpDir());
    dir = await copyApp("examples/fastapi", "pyapp");
    const created = await cli(["new", "--json"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    micro = JSON.parse(created.stdout) as MicroView;
  });

  it("is detected from main.py and runs on the server's Python", async () => {
    assert.match(micro.runtime, /^python3\.\d+$/);
  });

  it("runs the ASGI startup event before the first request", async () => {
    const res = await request(server.port, `pyapp.localhost:${server.port}`, "/started");
    assert.deepEqual(JSON.parse(res.body), { started: true });
  });

  it("lets a background task finish, and runs the shutdown event, when the instance goes to sleep", async () => {
    const res = await request(server.port, `pyapp.localhost:${server.port}`, "/background");
    assert.equal(res.body, "queued");
    await waitFor("the instance to sleep", async () => {
      const { body } = await api<{ micro: MicroView }>(server, `/v1/micros/${micro.id}`);
      return body.micro.instances.length === 0 ? true : undefined;
    });
    const logs = (await cli(["logs"], { cwd: dir, env })).stdout;
    assert.match(logs, /startup ran/);
    assert.match(logs, /background task finished/);
    assert.match(logs, /shutdown ran/);
    assert.ok(logs.indexOf("background task finished") < logs.indexOf("shutdown ran"));
  });

  it("main.py without an `app` is `Unsupported framework`, saying what to define", async () => {
    const broken = await copyApp("examples/flask", "noapp");
    await writeApp(broken, { "main.py": "application = None\n" });
    assert.equal((await cli(["new"], { cwd: broken, env })).code, 0);
    const res = await request(server.port, `noapp.localhost:${server.port}`);
    assert.equal(res.status, 502);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "ERR_UNSUPPORTED_FRAMEWORK");
    assert.match(error.message, /main\.py has no module-level `app`\. Define `app` at module level/);
  });

  it("main.py that raises at import answers 502 with the first line; the traceback is in the logs", async () => {
    const broken = await copyApp("examples/flask", "raises");
    await writeApp(broken, { "main.py": "import os\nDATABASE = os.environ['DATABASE_URL']\n" });
    assert.equal((await cli(["new"], { cwd: broken, env })).code, 0);
    const res = await request(server.port, `raises.localhost:${server.port}`);
    assert.equal(res.status, 502);
    assert.equal(JSON.parse(res.body).error.message, "main.py raised while loading: KeyError: 'DATABASE_URL'");
    const logs = (await cli(["logs"], { cwd: broken, env })).stdout;
    assert.match(logs, /Traceback \(most recent call last\)/);
  });

  it("requirements pip cannot satisfy fail the deploy with pip's output, and the previous release keeps serving", async () => {
    const app = await copyApp("examples/flask", "pipfail");
    assert.equal((await cli(["new"], { cwd: app, env })).code, 0);
    await writeApp(app, { "requirements.txt": "flask>=2\nmicros-test-no-such-package-4b1d==1.0\n" });
    const deploy = await cli(["deploy"], { cwd: app, env });
    assert.equal(deploy.code, 1);
    assert.match(deploy.stderr, /Installing dependencies failed: pip install failed/);
    assert.match(deploy.stderr, /No matching distribution found for micros-test-no-such-package-4b1d/);
    const res = await request(server.port, `pipfail.localhost:${server.port}`, "/hello");
    assert.equal(res.body, "hello from flask");
  });
});
