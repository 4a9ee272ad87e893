import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
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
} from "../helpers/micros.js";
import { startTestHost } from "../helpers/test-host.js";

interface ProbeResult {
  ok: boolean;
  code?: string;
  status?: number;
  output?: string;
  uid?: number;
  entries?: string[];
}

/**
 * A hostile micro attacks its sandbox; each test asserts the platform's answer and that the
 * server and a neighbouring micro are unaffected.
 */
describe("the sandbox holds a hostile micro", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let neighbour: MicroView;
  let loopbackService: Server;
  let loopbackPort: number;
  let hostileDir: string;

  const probe = async (path: string): Promise<ProbeResult> => {
    const res = await request(server.port, `hostile.localhost:${server.port}`, path);
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body) as ProbeResult;
  };

  const othersStillServe = async () => {
    assert.equal((await api(server, "/healthz")).status, 200, "the control API answers");
    const res = await request(server.port, `neighbour.localhost:${server.port}`);
    assert.equal(res.status, 200, "the neighbouring micro answers");
  };

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    for (const [fixture, name] of [
      ["boot-id", "neighbour"],
      ["hostile", "hostile"],
    ] as const) {
      const appDir = await copyApp(fixture, name);
      const result = await cli(["new", "--json"], { cwd: appDir, env });
      assert.equal(result.code, 0, result.stderr);
      if (name === "hostile") hostileDir = appDir;
      if (name === "neighbour") neighbour = JSON.parse(result.stdout) as MicroView;
    }
    // The probes test the sandbox's limits, not the request timeout: a fork bomb on a busy machine takes over 10 s.
    const slow = await cli(["update", "--timeout", "60"], { cwd: hostileDir, env });
    assert.equal(slow.code, 0, slow.stderr);
    await request(server.port, `neighbour.localhost:${server.port}`);
    loopbackService = createServer((_req, res) => res.end("a private service on the host"));
    await new Promise<void>((resolve) => loopbackService.listen(0, "127.0.0.1", resolve));
    loopbackPort = (loopbackService.address() as AddressInfo).port;
  });

  after(() => loopbackService.close());

  it("runs as its own unprivileged user, not root and not the neighbour's", async () => {
    const { uid } = await probe("/whoami");
    assert.ok(uid !== undefined && uid >= 200_000, `uid ${uid}`);
    assert.equal((await probe("/run?command=id%20-u")).output?.trim(), String(uid));
  });

  it("sees only its own read-only files: no host secrets, data dir or other micro's code", async () => {
    assert.deepEqual((await probe("/list?path=/")).entries?.sort(), [
      "app",
      "bin",
      "dev",
      "etc",
      "lib",
      "lib64",
      "opt",
      "proc",
      "run",
      "sbin",
      "tmp",
      "usr",
    ]);
    for (const path of [
      "/etc/shadow",
      "/root/.bashrc",
      join(server.dataDir, "admin-token"),
      join(server.dataDir, "micros.db"),
    ]) {
      const result = await probe(`/read?path=${encodeURIComponent(path)}`);
      assert.deepEqual(result, { ok: false, code: "ENOENT" }, path);
    }
    const releases = join(server.dataDir, "releases", neighbour.id);
    assert.deepEqual(await probe(`/list?path=${encodeURIComponent(releases)}`), { ok: false, code: "ENOENT" });
    const { body } = await api<{ micro: MicroView }>(server, `/v1/micros/${neighbour.id}`);
    const neighbourInstance = body.micro.instances[0]?.id;
    assert.ok(neighbourInstance, "the neighbour is running");
    const neighbourTmp = join(server.dataDir, "run", neighbourInstance, "tmp");
    assert.deepEqual(await probe(`/list?path=${encodeURIComponent(neighbourTmp)}`), { ok: false, code: "ENOENT" });
    assert.deepEqual(await probe("/list?path=/sys/fs/cgroup"), { ok: false, code: "ENOENT" });
  });

  it("cannot write anywhere but /tmp", async () => {
    for (const path of ["/app/index.js", "/usr/evil", "/evil", "/etc/evil"]) {
      assert.equal((await probe(`/write?path=${encodeURIComponent(path)}`)).code, "EROFS", path);
    }
    assert.deepEqual(await probe("/write?path=/tmp/scratch"), { ok: true });
  });

  it("cannot reach the platform's port or other services on the host's loopback", async () => {
    for (const port of [server.port, loopbackPort]) {
      const result = await probe(`/connect?host=127.0.0.1&port=${port}`);
      assert.equal(result.ok, false, `port ${port} must be unreachable`);
    }
  });

  it("reaches the outside world through NAT, but not this host through it", async () => {
    const outside = await startTestHost();
    // A service of this host on the test network's host-side address: reachable from here, not from a micro.
    const hostService = createServer((_req, res) => res.end("this host"));
    await new Promise<void>((resolve) => hostService.listen(0, outside.hostAddress, resolve));
    const hostPort = (hostService.address() as AddressInfo).port;
    try {
      const reached = await probe(`/connect?host=${outside.address}&port=${outside.port}`);
      assert.deepEqual(reached, { ok: true }, "an outbound connection works");
      const fromHere = await fetch(`http://${outside.hostAddress}:${hostPort}/`);
      assert.equal(await fromHere.text(), "this host");
      const fromMicro = await probe(`/connect?host=${outside.hostAddress}&port=${hostPort}`);
      assert.equal(fromMicro.ok, false, "the host's own addresses are dropped");
    } finally {
      hostService.close();
      outside.close();
    }
  });

  it("is refused the system calls of the seccomp deny-list", { skip: process.arch !== "x64" }, async () => {
    // x86_64 numbers: keyctl, io_uring_setup, bpf, perf_event_open, ptrace (PTRACE_TRACEME would succeed), unshare.
    const script = [
      "import ctypes",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "for nr in (250, 425, 321, 298, 101, 272):",
      "    result = libc.syscall(nr, 0, 0, 0, 0, 0)",
      "    print(nr, result, ctypes.get_errno())",
    ].join("\n");
    const result = await probe(`/run?command=${encodeURIComponent(`python3 -c '${script}'`)}`);
    assert.equal(result.status, 0, result.output);
    assert.deepEqual(result.output?.trim().split("\n"), [
      "250 -1 1",
      "425 -1 1",
      "321 -1 1",
      "298 -1 1",
      "101 -1 1",
      "272 -1 1",
    ]);
  });

  it("cannot create a user namespace, see or signal processes outside", async () => {
    const userns = await probe("/run?command=unshare%20-U%20-r%20true");
    assert.equal(userns.ok, false, userns.output);
    const processes = (await probe("/list?path=/proc")).entries?.filter((entry) => /^\d+$/.test(entry)) ?? [];
    assert.ok(processes.length < 10, `sees only its own processes: ${processes.join(" ")}`);
    const kill = await probe(`/run?command=kill%20-9%20${server.process.pid}`);
    assert.equal(kill.ok, false);
    await othersStillServe();
  });

  it("filling /tmp past 512 MB ends in ENOSPC, not in an out-of-memory kill", async () => {
    const before = (await probe("/whoami")).uid;
    const fill = await probe(`/run?command=${encodeURIComponent("dd if=/dev/zero of=/tmp/fill bs=1M count=600 2>&1")}`);
    assert.match(fill.output ?? "", /No space left on device/, fill.output);
    const written = Number(/(\d+) bytes/.exec(fill.output ?? "")?.[1]);
    assert.ok(written >= 512 * 1024 * 1024, `${written} bytes fit in /tmp`);
    assert.deepEqual(await probe("/alloc?mb=256"), { ok: true, allocated: 256 }, "the memory budget is intact");
    assert.equal((await probe("/whoami")).uid, before);
    await probe("/run?command=rm%20/tmp/fill");
  });

  it("a fork bomb stops at the process limit and harms nobody else", async () => {
    const bomb = await probe(
      `/run?command=${encodeURIComponent("i=0; while [ $i -lt 1500 ]; do sleep 30 </dev/null >/dev/null 2>&1 & i=$((i+1)); done 2>&1 | head -n 3")}`,
    );
    assert.match(bomb.output ?? "", /fork|Resource temporarily unavailable/i, bomb.output);
    await othersStillServe();
  });

  it("allocating past 512 MB kills the instance with a clear 502; the next request gets a fresh one", async () => {
    const before = (await probe("/whoami")).uid;
    const res = await request(server.port, `hostile.localhost:${server.port}`, "/alloc?mb=1024");
    assert.equal(res.status, 502);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "ERR_APP_CRASHED");
    assert.match(error.message, /ran out of memory \(the limit is 512 MB\)/);
    assert.notEqual((await probe("/whoami")).uid, before, "a fresh instance, as a user of its own");
    await othersStillServe();
    const raised = await cli(["update", "--memory", "1024"], { cwd: hostileDir, env });
    assert.equal(raised.code, 0, raised.stderr);
    assert.deepEqual(await probe("/alloc?mb=700"), { ok: true, allocated: 700 }, "a micro with 1 GB can use it");
  });

  it("a child that outlives its request does not outlive the server", async () => {
    assert.equal((await probe("/orphan")).ok, true);
    assert.equal(await server.stop(), 0);
    assert.deepEqual(await processesIn(server.dataDir), []);
    // This server's namespaces are named after a hash of its data dir (see sandbox/network.ts).
    const prefix = `m${createHash("sha256").update(server.dataDir).digest("hex").slice(0, 4)}`;
    const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n");
    assert.deepEqual(
      namespaces.filter((line) => line.startsWith(prefix)),
      [],
      "no instance network namespace is left",
    );
  });
});
