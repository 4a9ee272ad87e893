/**
 * Helpers for the build sandbox's tests: deploys that take longer than the CLI helper allows, uploads of archives
 * made by hand, and what a build may leave on the host (processes, mounts, loop devices, cgroups, network
 * namespaces, files in the data dir), taken before and after a deploy and compared.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";
import { listFiles, packFiles } from "../../src/cli/pack.js";
import type { CliResult, MicrosServer } from "../helpers/micros.js";
import { ROOT } from "../helpers/micros.js";

const BIN = join(ROOT, "bin", "micros.js");

/**
 * The real `micros` command, as `cli()` runs it, with a longer deadline: a deploy that compiles a native addon
 * from source takes minutes on a busy two-core machine.
 */
export function slowCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd,
        env: { PATH: process.env.PATH, ...options.env },
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === "number" ? code : null, stdout, stderr });
      },
    );
  });
}

export interface ApiAnswer {
  status: number;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
  error: { code: string; message: string; details?: Record<string, unknown> } | undefined;
}

/**
 * POSTs an archive as a release of `microId`, as the CLI does but without asking for progress lines. A server that
 * closes the connection without answering, or has not answered after `deadlineMs` (a safety net against a server
 * stuck on an upload, not a measure of speed), gives status 0 and says so; one that answers before it has read the
 * whole upload (a refusal) is heard, whatever happens to the rest of the upload.
 */
export function postRelease(
  server: MicrosServer,
  microId: string,
  archive: Buffer,
  options: { token?: string; deadlineMs?: number } = {},
): Promise<ApiAnswer> {
  const token = options.token ?? server.token;
  const deadlineMs = options.deadlineMs ?? 180_000;
  return new Promise((resolve) => {
    let answered = false;
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: server.port,
        path: `/v1/micros/${microId}/releases`,
        method: "POST",
        // A connection of its own: a kept-alive one the server is closing would fail the upload for no reason.
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/gzip",
          "content-length": archive.length,
        },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        // "close" also comes when the upload's socket broke after the answer began: what arrived is the answer.
        res.on("close", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json, error: json?.error as ApiAnswer["error"] });
        });
        res.on("error", () => {});
      },
    );
    req.on("error", (err) => {
      if (!answered) {
        resolve({ status: 0, text: `no answer: ${err.message}`, json: undefined, error: undefined });
      }
    });
    req.setTimeout(deadlineMs, () => req.destroy(new Error(`nothing after ${deadlineMs / 1000} s`)));
    req.end(archive);
  });
}

/** A folder packed exactly as `micros deploy --force` packs it. */
export async function packFolder(dir: string): Promise<Buffer> {
  return packFiles(dir, await listFiles(dir));
}

export interface TarEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO";
  content?: string;
  linkpath?: string;
  mode?: number;
  devmaj?: number;
  devmin?: number;
}

/** A gzip'd tar built block by block, so it can hold what no well-behaved packer writes; long paths get PAX headers. */
export function tarball(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  const pad = (length: number) => Buffer.alloc((512 - (length % 512)) % 512);
  for (const entry of entries) {
    const body = Buffer.from(entry.content ?? "");
    const type = entry.type ?? "File";
    // Long paths go in a PAX header; the plain header gets a stand-in (tar's own splitting of a long path into the
    // header's fields is slow enough to matter for a few thousand of them).
    const long = Buffer.byteLength(entry.path) > 100 || Buffer.byteLength(entry.linkpath ?? "") > 100;
    const header = new Header({
      path: long ? "long-path" : entry.path,
      type,
      size: body.length,
      mode: entry.mode ?? (type === "Directory" ? 0o755 : 0o644),
      uid: 0,
      gid: 0,
      mtime: new Date(0),
      linkpath: entry.linkpath !== undefined && long ? "long-path" : entry.linkpath,
      devmaj: entry.devmaj ?? 0,
      devmin: entry.devmin ?? 0,
    });
    const block = Buffer.alloc(512);
    if (header.encode(block) || long) {
      blocks.push(new Pax({ path: entry.path, linkpath: entry.linkpath, mtime: new Date(0) }).encode());
    }
    blocks.push(block, body, pad(body.length));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** Creates a user as the admin (`POST /v1/users`) and returns its token. */
export async function createUser(server: MicrosServer, name: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${server.port}/v1/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const body = (await response.json()) as { token?: string };
  assert.equal(response.status, 201, JSON.stringify(body));
  assert.ok(body.token, "the new user's token");
  return body.token;
}

/**
 * Pieces of the admin token whose presence anywhere means it leaked: the whole token, its first ten characters
 * (what a JSON parse error quotes of a file it was given), and every 12-character run of its random part.
 */
export function tokenPieces(token: string): string[] {
  const secret = token.slice(-32);
  const runs = Array.from({ length: secret.length - 11 }, (_, i) => secret.slice(i, i + 12));
  return [token, token.slice(0, 10), ...runs];
}

export function leaks(text: string, token: string): boolean {
  return tokenPieces(token).some((piece) => text.includes(piece));
}

/** Regular files under `dir` (links not followed) whose content includes `needle`, or one of `needles`. */
export async function filesContaining(dir: string, needles: string | string[]): Promise<string[]> {
  const wanted = (Array.isArray(needles) ? needles : [needles]).map((needle) => Buffer.from(needle));
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const info = await lstat(file).catch(() => undefined);
    if (!info || info.size > 64 * 1024 * 1024) continue;
    const content = await readFile(file).catch(() => Buffer.alloc(0));
    if (wanted.some((needle) => content.includes(needle))) found.push(file);
  }
  return found;
}

/**
 * Every path under `dir` that is not a folder (files, links, sockets), relative, down to `depth` levels, leaving
 * out the named top-level entries. Folders are left out: an empty mount point is not something left behind.
 */
export async function dataTree(dir: string, leaveOut: string[] = [], depth = 5): Promise<Set<string>> {
  const paths = new Set<string>();
  const walk = async (folder: string, level: number) => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = relative(dir, join(folder, entry.name));
      if (level === 0 && leaveOut.some((name) => entry.name === name || entry.name.startsWith(`${name}-`))) continue;
      if (!entry.isDirectory()) paths.add(path);
      else if (level < depth) await walk(join(folder, entry.name), level + 1);
    }
  };
  await walk(dir, 0);
  return paths;
}

/** What a server with data dir `dataDir` has made on the host, as far as a build could leave it behind. */
export interface HostState {
  /** `pid:start time` of every process, with what identifies it. */
  processes: Map<string, ProcessInfo>;
  mounts: string[];
  loops: string[];
  cgroups: string[];
  namespaces: string[];
}

export interface ProcessInfo {
  pid: number;
  uid: number;
  state: string;
  cmdline: string;
  cgroup: string;
  cwd: string;
}

/** The names a server gives what it makes on the host derive from the hash of its data dir (docs/security.md). */
function serverHash(dataDir: string): string {
  return createHash("sha256").update(dataDir).digest("hex");
}

async function processes(): Promise<Map<string, ProcessInfo>> {
  const found = new Map<string, ProcessInfo>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const [stat, status, cmdline, cgroup, cwd] = await Promise.all([
      readFile(`/proc/${entry}/stat`, "utf8").catch(() => ""),
      readFile(`/proc/${entry}/status`, "utf8").catch(() => ""),
      readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => ""),
      readFile(`/proc/${entry}/cgroup`, "utf8").catch(() => ""),
      readlink(`/proc/${entry}/cwd`).catch(() => ""),
    ]);
    if (!stat) continue;
    // Fields after the command's closing parenthesis: state is the first, the start time the twentieth.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    found.set(`${entry}:${fields[19]}`, {
      pid: Number(entry),
      uid,
      state: fields[0] ?? "?",
      cmdline: cmdline.replaceAll("\0", " ").trim(),
      cgroup,
      cwd,
    });
  }
  return found;
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((line) =>
      (line.split(" ")[4] ?? "").replace(/\\(\d{3})/g, (_, octal: string) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      ),
    )
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort();
}

/** Loop devices whose backing file is under `dir` (what `losetup -a` lists). */
async function loopsUnder(dir: string): Promise<string[]> {
  const loops: string[] = [];
  for (const device of await readdir("/sys/block").catch(() => [])) {
    if (!device.startsWith("loop")) continue;
    const backing = (await readFile(`/sys/block/${device}/loop/backing_file`, "utf8").catch(() => "")).trim();
    if (backing.startsWith(`${dir}/`)) loops.push(`${device} ${backing}`);
  }
  return loops.sort();
}

/** Every cgroup under this server's `micros-<hash>` parents, in every hierarchy (v1) or the unified tree (v2). */
async function cgroupsOf(hash: string): Promise<string[]> {
  const root = "/sys/fs/cgroup";
  const found: string[] = [];
  const walk = async (dir: string, depth: number) => {
    found.push(relative(root, dir));
    if (depth === 0) return;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await walk(join(dir, entry.name), depth - 1);
    }
  };
  const parents = [root, ...(await readdir(root).catch(() => [])).map((name) => join(root, name))];
  for (const parent of parents) {
    for (const entry of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && entry.name.startsWith("micros-") && entry.name.includes(hash.slice(0, 10))) {
        await walk(join(parent, entry.name), 4);
      }
    }
  }
  return found.sort();
}

function namespacesOf(hash: string): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(`m${hash.slice(0, 4)}`) || name.includes(hash.slice(0, 10)))
    .sort();
}

export async function hostState(dataDir: string): Promise<HostState> {
  const hash = serverHash(dataDir);
  return {
    processes: await processes(),
    mounts: await mountsUnder(dataDir),
    loops: await loopsUnder(dataDir),
    cgroups: await cgroupsOf(hash),
    namespaces: namespacesOf(hash),
  };
}

/** Entries of `after` beyond those of `before`, counting repeats (the same mount point twice is one too many). */
function extra(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((item) => {
    const index = left.indexOf(item);
    if (index === -1) return true;
    left.splice(index, 1);
    return false;
  });
}

/**
 * What exists now that did not before and belongs to the server of `dataDir`: processes (not root, in the
 * server's cgroups or working in its data dir, or carrying one of `marks` in their command line, whoever they
 * run as), mounts under the data dir, loop devices backed by files in it, cgroups and network namespaces.
 */
export async function leftovers(dataDir: string, before: HostState, marks: string[] = []): Promise<string[]> {
  const now = await hostState(dataDir);
  const hash = serverHash(dataDir);
  const found: string[] = [];
  for (const [key, info] of now.processes) {
    if (before.processes.has(key) || info.state === "Z") continue;
    const marked = marks.some((mark) => info.cmdline.includes(mark));
    const ofServer =
      info.cgroup.includes(`micros-${hash.slice(0, 10)}`) ||
      info.cwd === dataDir ||
      info.cwd.startsWith(`${dataDir}/`) ||
      info.cmdline.includes(dataDir);
    if (marked || (info.uid !== 0 && ofServer)) found.push(`process ${info.pid} (uid ${info.uid}): ${info.cmdline}`);
  }
  for (const mount of extra(before.mounts, now.mounts)) found.push(`mount ${mount}`);
  for (const loop of extra(before.loops, now.loops)) found.push(`loop device ${loop}`);
  for (const cgroup of extra(before.cgroups, now.cgroups)) found.push(`cgroup ${cgroup}`);
  for (const namespace of extra(before.namespaces, now.namespaces)) found.push(`network namespace ${namespace}`);
  return found;
}

/**
 * Polls until nothing of a build is left on the host, or fails listing what is. The kernel takes a moment to
 * reap a killed process tree, hence the poll; a build that leaves something for good fails at the deadline.
 */
export async function assertNothingLeft(
  dataDir: string,
  before: HostState,
  marks: string[] = [],
  options: { timeoutMs?: number; processesOnly?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const found = (await leftovers(dataDir, before, marks)).filter(
      (item) => !options.processesOnly || item.startsWith("process "),
    );
    if (found.length === 0) return;
    if (Date.now() > deadline) assert.fail(`the build left behind:\n  ${found.join("\n  ")}`);
    await sleep(200);
  }
}

/** Processes whose command line carries `mark`: what an attack started and the build did not end. */
export async function markedProcesses(mark: string): Promise<ProcessInfo[]> {
  return [...(await processes()).values()].filter((info) => info.state !== "Z" && info.cmdline.includes(mark));
}

/** Kills whatever carries `mark`, so a failed test does not leave an attack running on the machine. */
export async function killMarked(mark: string): Promise<void> {
  for (const info of await markedProcesses(mark)) {
    try {
      process.kill(info.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
