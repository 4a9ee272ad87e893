/**
 * `micros server`'s settings and its start: flags, MICROS_* variables and a config file, one clear line for a value
 * it refuses, and a start that fails (port taken, data dir unusable, no sandbox) exits with nothing left behind.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chown, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { api, processesIn, ROOT, useServer, useTmpDir, waitFor } from "../helpers/micros.js";

const BIN = join(ROOT, "bin", "micros.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end, or fails the test when it has not ended within `timeoutMs` (then kills it). */
function runToEnd(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; asNobody?: boolean } = {},
): Promise<Run> {
  const command = options.asNobody
    ? spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, BIN, ...args], {
        env: { PATH: process.env.PATH, ...options.env },
      })
    : spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...options.env } });
  return ended(command, options.timeoutMs ?? 30_000);
}

function ended(child: ChildProcess, timeoutMs: number): Promise<Run> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An error the operator can act on: one `Error:` line, no stack trace. */
function assertOneLine(stderr: string, message: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0] ?? "", /^Error: /);
  assert.match(lines[0] ?? "", message);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
}

/** What a server with this data dir made on the host: all of it must be gone once it has exited. */
async function traces(dataDir: string) {
  const hash = createHash("sha256").update(dataDir).digest("hex");
  const cgroupRoots = await readdir("/sys/fs/cgroup").catch(() => []);
  const cgroups: string[] = [];
  for (const root of ["", ...cgroupRoots]) {
    const parent = join("/sys/fs/cgroup", root, `micros-${hash.slice(0, 10)}`);
    if (
      await readdir(parent).then(
        () => true,
        () => false,
      )
    )
      cgroups.push(parent);
  }
  const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point.startsWith(dataDir));
  const prefix = `m${hash.slice(0, 4)}`;
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.startsWith(prefix));
  const tables = execFileSync("nft", ["list", "tables"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(` ${prefix}_`));
  const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(`: ${prefix}`));
  const loops = execFileSync("losetup", ["-a"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(dataDir));
  return { cgroups, mounts, namespaces, tables, links, loops, processes: await processesIn(dataDir) };
}

const NOTHING = { cgroups: [], mounts: [], namespaces: [], tables: [], links: [], loops: [], processes: [] };

describe("micros server's start", () => {
  it("a port in use: one line naming the port, exit 1, no sandbox left behind", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const dataDir = await useTmpDir("micros-data-");
      const result = await runToEnd(["server", "--port", String(port), "--data-dir", dataDir]);
      assert.equal(result.code, 1, result.stderr);
      assertOneLine(result.stderr, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is in use by another program`));
      assert.deepEqual(await traces(dataDir), NOTHING);
    } finally {
      taken.close();
    }
  });

  it("a start that fails after its sandbox is made closes it: nothing is left behind", async () => {
    const dataDir = await useTmpDir("micros-data-");
    // The runners are copied to <data-dir>/runtimes once the sandbox is prepared: a file there fails that copy.
    await writeFile(join(dataDir, "runtimes"), "not a folder");
    const result = await runToEnd(["server", "--port", "0", "--data-dir", dataDir]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^Error: /);
    assert.deepEqual(await traces(dataDir), NOTHING);
  });

  it("a data dir that cannot be made: one line naming it, exit 1", async () => {
    const dir = await useTmpDir();
    await writeFile(join(dir, "file"), "");
    const result = await runToEnd(["server", "--port", "0", "--data-dir", join(dir, "file", "data")]);
    assert.equal(result.code, 1, result.stderr);
    assertOneLine(
      result.stderr,
      /The data directory .*\/file\/data cannot be used: it, or a part of its path, is a file\. Choose another with --data-dir\./,
    );
  });

  it("no sandbox here (not root): one line saying so, exit 1", async () => {
    const dataDir = await useTmpDir("micros-data-");
    await chown(dataDir, 65534, 65534);
    const result = await runToEnd(["server", "--port", "0", "--data-dir", dataDir], { asNobody: true });
    assert.equal(result.code, 1, result.stderr);
    assertOneLine(result.stderr, /The sandbox needs the server to run as root/);
  });

  it("a bad setting is one line naming it as written and what it accepts, with no stack trace", async () => {
    const dir = await useTmpDir();
    const file = join(dir, "micros.json");
    await writeFile(file, JSON.stringify({ sandbox: "foo" }));
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [["--sandbox", "foo"], {}, '--sandbox must be one of bubblewrap, none; got "foo".'],
      [[], { MICROS_SANDBOX: "foo" }, 'MICROS_SANDBOX must be one of bubblewrap, none; got "foo".'],
      [["--config", file], {}, `sandbox in ${file} must be one of bubblewrap, none; got "foo".`],
      [
        ["--idle-timeout", "soon"],
        {},
        '--idle-timeout must be a duration from 100ms to 24h, such as 30s, 10m or 1h; got "soon".',
      ],
      [[], { MICROS_BUILD_MEMORY: "64" }, 'MICROS_BUILD_MEMORY must be a size in MB from 256 to 1048576; got "64".'],
    ];
    for (const [flags, env, line] of cases) {
      const result = await runToEnd(["server", "--port", "0", "--data-dir", join(dir, "data"), ...flags], { env });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, `Error: ${line}\n`);
    }
  });

  it("takes settings from a config file and MICROS_* variables, a flag winning over a variable over the file", async () => {
    const dir = await useTmpDir();
    const file = join(dir, "micros.json");
    await writeFile(file, JSON.stringify({ sandbox: "none", domain: "file.test", "warm-pool": 0 }));
    const fromEnv = await useServer([], { MICROS_CONFIG: file, MICROS_DOMAIN: "env.test" });
    assert.match(fromEnv.output(), new RegExp(`Micros answer at http://<name>\\.env\\.test:${fromEnv.port}/`));
    assert.match(fromEnv.output(), /WARNING: --sandbox none/, "the file's sandbox setting");
    const fromFlag = await useServer(["--domain", "flag.test"], { MICROS_CONFIG: file, MICROS_DOMAIN: "env.test" });
    assert.match(fromFlag.output(), new RegExp(`Micros answer at http://<name>\\.flag\\.test:${fromFlag.port}/`));
    assert.equal((await fromFlag.stop()) ?? 0, 0);
    assert.equal((await fromEnv.stop()) ?? 0, 0);
  });
});

describe("the CLI with a closed stdout", () => {
  it("ends quietly, with its exit code, when the reader closes early", async () => {
    const child = spawn(process.execPath, [BIN, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    const result = await ended(child, 20_000);
    assert.equal(result.stderr, "", "no EPIPE stack trace");
    assert.equal(result.code, 0);
  });

  it("`micros logs --follow | head -1` ends when head does, without a stack trace", async () => {
    const server = await useServer(["--sandbox", "none", "--warm-pool", "0"]);
    const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
    const base = `http://127.0.0.1:${server.port}/v1`;
    const created = await fetch(`${base}/micros`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "follow-me", runtime: "node" }),
    });
    const { micro } = (await created.json()) as { micro: { id: string; name: string } };
    const schedule = () =>
      fetch(`${base}/micros/${micro.id}/cron`, { method: "PUT", headers, body: '{"expression":"5 minutes"}' });
    assert.equal((await schedule()).status, 200);
    const folder = await useTmpDir();
    await mkdir(join(folder, ".micros"));
    await writeFile(
      join(folder, ".micros", "micro.json"),
      JSON.stringify({ id: micro.id, name: micro.name, project: "default", host: `http://localhost:${server.port}` }),
    );
    const child = spawn(process.execPath, [BIN, "logs", "--follow"], {
      cwd: folder,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: folder,
        MICROS_HOST: `http://localhost:${server.port}`,
        MICROS_ACCESS_TOKEN: server.token,
      },
    });
    const done = ended(child, 30_000);
    // Like `head -1`: read the first line, then close the pipe.
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.stdout.destroy();
    // The next line the micro logs is written to the closed pipe.
    await waitFor("the CLI to end", async () => {
      await schedule();
      return child.exitCode !== null || child.signalCode !== null ? true : undefined;
    });
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /EPIPE|Error|\n\s+at /, "no EPIPE stack trace");
    assert.equal((await api(server, "/v1/micros")).status, 200);
  });
});
