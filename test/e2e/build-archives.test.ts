import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import type { MicroView } from "../../src/shared/api.js";
import { cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";
import { type ApiAnswer, leaks, postRelease, type TarEntry, tarball } from "./build-helpers.js";

/** Serves the release's own files by name, so a test sees what a path in the release leads to. */
const SERVE_FILES = `const { readFile } = require("node:fs/promises");
const { join } = require("node:path");
module.exports = async (req, res) => {
  const name = new URL(req.url, "http://micro").searchParams.get("name") ?? "";
  try {
    res.end(await readFile(join(__dirname, name)));
  } catch (err) {
    res.statusCode = 404;
    res.end(String(err.code));
  }
};
`;

/** A dependency, so that the install and the bundling of dependencies run over the archive's links. */
const WITH_DEPENDENCY = JSON.stringify({ name: "chain", private: true, dependencies: { ms: "2.1.3" } });

/**
 * Links that each stay inside the app when read on their own, but climb out as a chain: from the release
 * folder `d/l4` leads to the data dir and `d/l5` to the folder holding it.
 */
const CHAIN: TarEntry[] = [
  { path: "x/token.txt", type: "SymbolicLink", linkpath: "../d/l4/admin-token" },
  { path: "d/l5", type: "SymbolicLink", linkpath: "l4/.." },
  { path: "d/l4", type: "SymbolicLink", linkpath: "l3/.." },
  { path: "d/l3", type: "SymbolicLink", linkpath: "l2/.." },
  { path: "d/l2", type: "SymbolicLink", linkpath: "l/.." },
  { path: "d/l", type: "SymbolicLink", linkpath: ".." },
  { path: "index.js", content: SERVE_FILES },
  { path: "package.json", content: WITH_DEPENDENCY },
];

/**
 * Uploads made by hand, not by the CLI: each is refused with a 4xx that says what is wrong and never where on the
 * host anything lives, or is deployed with its trick neutralised.
 */
describe("hostile archives are refused or neutralised, and never reach the host", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let target: MicroView;

  const post = async (entries: TarEntry[]): Promise<ApiAnswer> => {
    const answer = await postRelease(server, target.id, tarball(entries));
    assert.ok(!answer.text.includes(server.dataDir), `no host path in the answer: ${answer.text}`);
    assert.ok(!leaks(answer.text, server.token), `the admin token is not in the answer: ${answer.text}`);
    return answer;
  };

  /** A 4xx API error (never a 500), whose message matches `message`. */
  const refused = (answer: ApiAnswer, message: RegExp) => {
    assert.ok(answer.status >= 400 && answer.status < 500, `refused with a 4xx, not ${answer.status}: ${answer.text}`);
    assert.ok(answer.error, `an API error: ${answer.text}`);
    assert.notEqual(answer.error.code, "ERR_INTERNAL");
    assert.match(answer.error.message, message);
  };

  const file = (name: string) => request(server.port, `target.localhost:${server.port}`, `/?name=${name}`);

  before(async () => {
    server = await useServer(["--warm-pool", "0"]);
    env = loggedIn(server, await useTmpDir());
    for (const name of ["target", "neighbour"]) {
      const dir = await copyApp("files", name);
      const created = await cli(["new", "--json"], { cwd: dir, env });
      assert.equal(created.code, 0, created.stderr);
      if (name === "target") target = JSON.parse(created.stdout) as MicroView;
    }
  });

  it("a chain of links that climbs to the data dir does not reach the admin token", async () => {
    const answer = await post(CHAIN);
    if (answer.status !== 201) {
      refused(answer, /./);
      assert.equal(answer.status, 422);
      assert.equal(answer.error?.code, "ERR_BAD_ARCHIVE");
      return;
    }
    // Deployed: the links lead nowhere, for the micro and for whoever fetches the release.
    const read = await file("x/token.txt");
    assert.ok(!leaks(read.body, server.token), "the micro cannot read the admin token through the chain");
    const direct = await file("d/l4/admin-token");
    assert.ok(!leaks(direct.body, server.token), "nor through the link to the data dir");
    const archive = await fetch(`http://127.0.0.1:${server.port}/v1/micros/${target.id}/releases/current/archive`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const packed = gunzipSync(Buffer.from(await archive.arrayBuffer())).toString("latin1");
    assert.ok(!leaks(packed, server.token), "the release's archive (clone, pull) does not hold the admin token");
  });

  it("a changes file that is a link into the chain is refused, and its target is not quoted", async () => {
    // First, like x/token.txt: made while its target's path holds no link yet.
    const answer = await post([
      { path: ".micros-changes.json", type: "SymbolicLink", linkpath: "d/l4/admin-token" },
      ...CHAIN,
    ]);
    refused(answer, /\.micros-changes\.json|link/i);
  });

  it("the write variant: a link for the bundle's folder through the chain writes nothing outside the release", async () => {
    // The chain's `d/l5` is the folder that holds the data dir; the link points at a folder of its own there.
    const victim = await useTmpDir("micros-victim-");
    assert.equal(dirname(victim), dirname(server.dataDir), "the victim folder sits beside the data dir");
    // First, like x/token.txt: made while its target's path holds no link yet.
    const answer = await post([
      { path: "node_modules/.micros", type: "SymbolicLink", linkpath: `../d/l5/${basename(victim)}` },
      ...CHAIN,
    ]);
    assert.ok(answer.status === 201 || (answer.status >= 400 && answer.status < 500), answer.text);
    assert.deepEqual(await readdir(victim), [], "nothing was written into the host folder the link leads to");
    assert.deepEqual(
      (await readdir(server.dataDir)).filter((name) => name.startsWith("vendor")),
      [],
      "nor into the data dir",
    );
  });

  it("setuid, setgid and sticky bits are refused or dropped: no release holds them", async () => {
    const answer = await post([
      { path: "index.js", content: SERVE_FILES },
      { path: "bin/setuid", content: "#!/bin/sh\nid\n", mode: 0o4755 },
      { path: "bin/setgid", content: "#!/bin/sh\nid\n", mode: 0o2755 },
      { path: "shared/", type: "Directory", mode: 0o1777 },
      { path: "shared/sticky", content: "x", mode: 0o1777 },
    ]);
    assert.ok(answer.status === 201 || (answer.status >= 400 && answer.status < 500), answer.text);
    const special = execFileSync("find", [join(server.dataDir, "releases"), "-perm", "/7000"], { encoding: "utf8" });
    assert.equal(special.trim(), "", "no file under releases/ has a setuid, setgid or sticky bit");
  });

  it("a 300-character file name is refused, saying the name is too long", async () => {
    refused(
      await post([
        { path: "index.js", content: SERVE_FILES },
        { path: `${"n".repeat(300)}.txt`, content: "long" },
      ]),
      /name|long/i,
    );
  });

  it("a changes file that is not JSON is refused, saying so", async () => {
    refused(
      await post([
        { path: "index.js", content: SERVE_FILES },
        { path: ".micros-changes.json", content: "{ this is not json" },
      ]),
      /\.micros-changes\.json/,
    );
  });

  it("a changes file of the wrong shape is refused, saying so", async () => {
    refused(
      await post([
        { path: "index.js", content: SERVE_FILES },
        { path: ".micros-changes.json", content: JSON.stringify({ base: 42, deleted: "everything" }) },
      ]),
      /\.micros-changes\.json/,
    );
  });

  it("a FIFO entry is refused", async () => {
    refused(
      await post([
        { path: "index.js", content: SERVE_FILES },
        { path: "pipe", type: "FIFO" },
      ]),
      /pipe/,
    );
  });

  it("a character device entry is refused", async () => {
    refused(
      await post([
        { path: "index.js", content: SERVE_FILES },
        { path: "null", type: "CharacterDevice", devmaj: 1, devmin: 3 },
      ]),
      /null/,
    );
  });

  it("an entry file that is a link is refused at deploy", async () => {
    refused(
      await post([
        { path: "real.js", content: SERVE_FILES },
        { path: "index.js", type: "SymbolicLink", linkpath: "real.js" },
      ]),
      /index\.js/,
    );
  });

  it("an entry file that is a folder is refused at deploy", async () => {
    refused(
      await post([
        { path: "index.js/", type: "Directory" },
        { path: "index.js/inner.js", content: SERVE_FILES },
      ]),
      /index\.js/,
    );
  });

  // Near the end, like the next: a platform without a depth limit can spend minutes on these.
  it("1,500 nested folders are refused, saying they are nested too deep", async () => {
    const entries: TarEntry[] = [{ path: "index.js", content: SERVE_FILES }];
    let path = "";
    for (let i = 0; i < 1500; i++) {
      path += "d/";
      entries.push({ path, type: "Directory" });
    }
    entries.push({ path: `${path}deep.txt`, content: "deep" });
    refused(await post(entries), /deep|nested|depth|folders/i);
  });

  // Last: a platform without an entry limit spends minutes unpacking these, and the other tests should still run.
  it("150,000 tiny files are refused with the entry limit, and other micros keep answering meanwhile", async () => {
    const entries: TarEntry[] = [{ path: "index.js", content: SERVE_FILES }];
    for (let i = 0; i < 150_000; i++) entries.push({ path: `f/${Math.floor(i / 1000)}/${i}` });
    const archive = tarball(entries);
    assert.ok(archive.length < 4 * 1024 * 1024, `a small upload (${archive.length} bytes)`);
    const upload = postRelease(server, target.id, archive);
    const neighbour = await request(server.port, `neighbour.localhost:${server.port}`, "/?name=a.txt");
    assert.equal(neighbour.status, 200, "the neighbour answers while the upload is handled");
    const answer = await upload;
    refused(answer, /entries/i);
    assert.match(answer.error?.message ?? "", /\d/, "the message names the limit");
    assert.ok(!answer.text.includes(server.dataDir), `no host path in the answer: ${answer.text}`);
  });
});
