import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { buildVendorBundle } from "../../runtimes/build/vendor-bundle.mjs";

const run = promisify(execFile);
const VENDOR_RUNNER = join(import.meta.dirname, "..", "..", "runtimes", "node", "vendor.mts");

async function write(files: Record<string, string>, root: string): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

describe("the vendor bundle of a Node release", () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it("serves location-independent dependencies from one file and leaves the rest to node_modules", async () => {
    const app = await mkdtemp(join(tmpdir(), "micros-vendor-"));
    dirs.push(app);
    await write(
      {
        "package.json": JSON.stringify({ dependencies: { plain: "1.0.0", located: "1.0.0", uses: "1.0.0" } }),
        "node_modules/plain/package.json": JSON.stringify({ name: "plain", main: "lib/index.js" }),
        "node_modules/plain/lib/index.js": "module.exports = { answer: require('./answer'), loads: 0 };",
        "node_modules/plain/lib/answer.js": "module.exports = 42;",
        // Reads a file next to itself: it only works from its own folder.
        "node_modules/located/package.json": JSON.stringify({ name: "located" }),
        "node_modules/located/index.js":
          "module.exports = require('fs').readFileSync(require('path').join(__dirname, 'data.txt'), 'utf8');",
        "node_modules/located/data.txt": "found next to me",
        // Depends on one that cannot be bundled: left out with it.
        "node_modules/uses/package.json": JSON.stringify({ name: "uses" }),
        "node_modules/uses/index.js": "module.exports = 'uses ' + require('located');",
        "index.js": [
          "const plain = require('plain');",
          "plain.loads++;",
          "module.exports = {",
          "  answer: plain.answer, loads: require('plain').loads,",
          "  located: require('located'), uses: require('uses'),",
          "  fromDisk: Object.keys(require.cache).filter((file) => file.startsWith(__dirname + '/node_modules')).map((file) => file.slice(file.indexOf('node_modules'))),",
          "};",
        ].join("\n"),
      },
      app,
    );

    assert.deepEqual(await buildVendorBundle(app), ["plain"]);

    const script = `
      import { useVendorBundle } from ${JSON.stringify(VENDOR_RUNNER)};
      import { createRequire } from "node:module";
      useVendorBundle(${JSON.stringify(app)});
      console.log(JSON.stringify(createRequire(${JSON.stringify(join(app, "index.js"))})("./index.js")));
    `;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
    const loaded = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(loaded.answer, 42);
    assert.equal(loaded.loads, 1, "one module instance, shared by every require");
    assert.equal(loaded.located, "found next to me");
    assert.equal(loaded.uses, "uses found next to me");
    assert.deepEqual(
      (loaded.fromDisk as string[]).sort(),
      ["node_modules/located/index.js", "node_modules/uses/index.js"],
      "plain came from the bundle, the others from their folders",
    );
  });

  it("makes no bundle for an app without dependencies", async () => {
    const app = await mkdtemp(join(tmpdir(), "micros-vendor-"));
    dirs.push(app);
    await write({ "package.json": "{}", "index.js": "module.exports = () => {};" }, app);
    assert.deepEqual(await buildVendorBundle(app), []);
  });
});
