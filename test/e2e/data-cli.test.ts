/**
 * `micros base` and `micros drive` through the real server: the CLI gets the project's key from the control API and
 * calls the Base and Drive services under /base and /drive on the platform's host. A user leaving takes their data
 * along: export, then import into another project, gives the same items and files back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { cli, loggedIn, type MicrosServer, useServer, useTmpDir } from "../helpers/micros.js";

describe("micros base and micros drive", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let work: string;
  const micros = async (...args: string[]) => {
    const result = await cli(args, { cwd: work, env });
    assert.equal(result.code, 0, `micros ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    server = await useServer(["--warm-pool", "0"]);
    env = loggedIn(server, await useTmpDir());
    work = await useTmpDir();
    await micros("projects", "create", "elsewhere");
  });

  it("puts, gets, queries and deletes items, and lists the project's bases", async () => {
    assert.match(await micros("base", "put", "shop", '{"key": "apple", "price": 3, "tags": ["fruit"]}'), /apple/);
    await micros("base", "put", "shop", '"just a value"', "--key", "note");
    assert.deepEqual(JSON.parse(await micros("base", "get", "shop", "note")), { key: "note", value: "just a value" });
    assert.deepEqual(JSON.parse(await micros("base", "query", "shop", '{"tags?contains": "fruit"}', "--json")), [
      { key: "apple", price: 3, tags: ["fruit"] },
    ]);
    assert.deepEqual(
      JSON.parse(await micros("base", "list", "--json")).map((b: { name: string; items: number }) => [b.name, b.items]),
      [["shop", 2]],
    );
    await micros("base", "delete", "shop", "note");
    const missing = await cli(["base", "get", "shop", "note"], { cwd: work, env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Base shop has no item with the key note/);
    const bad = await cli(["base", "query", "shop", '{"price?like": 1}'], { cwd: work, env });
    assert.deepEqual([bad.code, bad.stderr.trim()], [1, "Error: Bad query"]);
  });

  it("exports a base as JSON lines and imports it into another project, item for item", async () => {
    const later = Math.floor(Date.now() / 1000) + 3600;
    const lines = Array.from({ length: 60 }, (_, i) =>
      JSON.stringify({
        key: `k${String(i).padStart(2, "0")}`,
        n: i,
        nested: { even: i % 2 === 0 },
        ...(i === 7 && { __expires: later }),
      }),
    );
    await writeFile(join(work, "items.jsonl"), `${lines.join("\n")}\n`);
    assert.match(await micros("base", "import", "catalog", "items.jsonl"), /Imported 60 items into base catalog/);
    await micros("base", "export", "catalog", "catalog.jsonl");
    assert.equal(await readFile(join(work, "catalog.jsonl"), "utf8"), `${lines.join("\n")}\n`);
    assert.match(
      await micros("base", "import", "catalog", "catalog.jsonl", "--project", "elsewhere"),
      /Imported 60 items/,
    );
    assert.equal(await micros("base", "export", "catalog", "--project", "elsewhere"), `${lines.join("\n")}\n`);
    assert.equal(
      (await micros("base", "query", "catalog", '{"nested.even": true, "n?lt": 10}', "--limit", "3")).trim().split("\n")
        .length,
      3,
    );
  });

  it('imports Deta\'s shapes too: a JSON list of items, and {"items": [...]}', async () => {
    await writeFile(
      join(work, "deta.json"),
      JSON.stringify(
        {
          items: [
            { key: "x", a: 1 },
            { key: "y", a: 2 },
          ],
        },
        null,
        2,
      ),
    );
    await writeFile(join(work, "list.json"), JSON.stringify([{ key: "z", a: 3 }]));
    await micros("base", "import", "from-deta", "deta.json");
    await micros("base", "import", "from-deta", "list.json");
    assert.deepEqual(
      (await micros("base", "export", "from-deta"))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
      [
        { key: "x", a: 1 },
        { key: "y", a: 2 },
        { key: "z", a: 3 },
      ],
    );
  });

  it("uploads, lists, downloads and deletes files, one of them over 10 MB in parts", async () => {
    const big = randomBytes(12 * 1024 * 1024 + 5);
    await writeFile(join(work, "big.bin"), big);
    await writeFile(join(work, "hello.txt"), "hello");
    await micros("drive", "put", "assets", "hello.txt", "--name", "docs/hello.txt");
    assert.match(await micros("drive", "put", "assets", "big.bin"), /Uploaded big.bin \(12 MB\)/);
    assert.deepEqual((await micros("drive", "list", "assets")).trim().split("\n"), ["big.bin", "docs/hello.txt"]);
    assert.match(await micros("drive", "list"), /assets +2 files, 12 MB/);
    await micros("drive", "get", "assets", "big.bin", "-o", "back.bin");
    assert.ok((await readFile(join(work, "back.bin"))).equals(big));
    assert.equal(await micros("drive", "get", "assets", "docs/hello.txt", "-o", "-"), "hello");
    const missing = await cli(["drive", "get", "assets", "nope"], { cwd: work, env });
    assert.match(missing.stderr, /Drive assets has no file nope/);
  });

  it("exports a drive to a folder and a tar file, and imports it into another project", async () => {
    await micros("drive", "export", "assets", "exported");
    assert.deepEqual((await readdir(join(work, "exported"), { recursive: true })).sort(), [
      "big.bin",
      "docs",
      join("docs", "hello.txt"),
    ]);
    assert.match(await micros("drive", "export", "assets", "assets.tar.gz"), /Exported 2 files/);
    assert.match(
      await micros("drive", "import", "assets", "assets.tar.gz", "--project", "elsewhere"),
      /Imported 2 files/,
    );
    assert.deepEqual((await micros("drive", "list", "assets", "--project", "elsewhere")).trim().split("\n"), [
      "big.bin",
      "docs/hello.txt",
    ]);
    await mkdir(join(work, "more", "deep"), { recursive: true });
    await writeFile(join(work, "more", "deep", "a.txt"), "a");
    await micros("drive", "import", "assets", "more", "--project", "elsewhere");
    assert.equal(await micros("drive", "get", "assets", "deep/a.txt", "-o", "-", "--project", "elsewhere"), "a");
    assert.match(await micros("drive", "delete", "assets", "big.bin", "docs/hello.txt"), /Deleted 2 files/);
    assert.equal((await micros("drive", "list", "assets")).trim(), "");
  });
});
