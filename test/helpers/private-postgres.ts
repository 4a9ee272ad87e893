/**
 * A PostgreSQL 15 server of the test's own, in a network namespace of the test network, listening only on that
 * namespace's address: initdb into a temp folder, the server run as the `postgres` user, a role and a database for
 * the servers under test (password auth), and all of it stopped and removed when the test file is done.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFile, chown, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { onCleanup, useTmpDir } from "./micros.js";
import type { NetworkHost, TestNetwork } from "./namespaces.js";

/** Debian's PostgreSQL 15, which CI installs. */
const BIN = "/usr/lib/postgresql/15/bin";
const PORT = 5432;
const STOP_MS = 30_000;

export interface PrivatePostgres {
  /** A database for the servers under test, owned by a role of its own: postgres://micros:<password>@<address>/<db>. */
  url: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000, env: { PATH: process.env.PATH, ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr.trim() || stdout.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The uid and gid of a user of the host. */
async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  return { uid: Number(await run("id", ["-u", name])), gid: Number(await run("id", ["-g", name])) };
}

/** `args` run as the postgres user; setpriv runs the program in its place, so signals reach it directly. */
function asPostgres(file: string, args: string[]): [string, string[]] {
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", file, ...args]];
}

export async function usePrivatePostgres(network: TestNetwork, host: NetworkHost): Promise<PrivatePostgres> {
  const dir = await useTmpDir("micros-pg-");
  const { uid, gid } = await userIds("postgres");
  await chown(dir, uid, gid);
  const superPassword = randomBytes(16).toString("hex");
  const passwordFile = join(dir, "superuser-password");
  await writeFile(passwordFile, superPassword);
  await chown(passwordFile, uid, gid);
  const data = join(dir, "data");
  await run(
    ...asPostgres(join(BIN, "initdb"), [
      "--pgdata",
      data,
      "--username=postgres",
      `--pwfile=${passwordFile}`,
      "--auth-local=peer",
      "--auth-host=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
      // Nothing of it outlives the test file.
      "--no-sync",
    ]),
  );
  // initdb lets in loopback only: the test network's hosts (the servers, and the test itself) log in with passwords.
  await appendFile(join(data, "pg_hba.conf"), `host all all ${network.subnet} scram-sha-256\n`);

  const [file, args] = network.command(
    host,
    ...asPostgres(join(BIN, "postgres"), [
      "-D",
      data,
      "-h",
      host.address,
      "-p",
      String(PORT),
      // Its Unix socket stays in the temp folder, not in /var/run/postgresql beside the host's own server.
      "-k",
      dir,
      // The data goes with the test file: waiting on the disk for it would only slow the servers under test.
      "-c",
      "fsync=off",
    ]),
  );
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onCleanup(() => stop(child, exited));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`PostgreSQL did not start:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk;
      if (output.includes("database system is ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited at start:\n${output}`));
    });
  });

  const password = randomBytes(16).toString("hex");
  const admin = new pg.Client({ host: host.address, port: PORT, user: "postgres", password: superPassword });
  await admin.connect();
  try {
    // Hex passwords and fixed names: safe to write into the statements.
    await admin.query(`CREATE ROLE micros LOGIN PASSWORD '${password}'`);
    await admin.query("CREATE DATABASE micros OWNER micros");
  } finally {
    await admin.end();
  }
  return { url: `postgres://micros:${password}@${host.address}:${PORT}/micros` };
}

/** A fast shutdown (SIGINT: open sessions are ended), and SIGKILL if even that hangs. */
async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGINT");
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, STOP_MS);
  });
  await Promise.race([exited, late]).finally(() => clearTimeout(timer));
}
