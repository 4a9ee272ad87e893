/**
 * What `micros deploy` uploads: Deta's rules (no hidden file or folder, `.detaignore` as regular expressions) with
 * Micros' own (`.gitignore`, `.microsignore`), on real folders.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { ignoreMatcher, listFiles, scanFolder } from "../../src/cli/pack.js";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "micros-ignore-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

describe("what a deploy uploads", () => {
  it("leaves out every hidden file and folder, and lists those an earlier version uploaded", async () => {
    const dir = await folder({
      "index.js": "",
      "lib/util.js": "",
      ".env": "A=1",
      ".env.production": "SECRET=1",
      ".npmrc": "//registry.npmjs.org/:_authToken=npm_secret",
      ".aws/credentials": "[default]",
      ".aws/config": "[default]",
      "lib/.cache/blob": "",
      ".gitignore": "",
      ".DS_Store": "",
      ".git/HEAD": "ref",
      ".micros/micro.json": "{}",
    });
    const scan = await scanFolder(dir);
    assert.deepEqual(scan.files, ["index.js", "lib/util.js"]);
    // .env, .git and .micros were never uploaded, and the ignore files and .DS_Store go without saying.
    assert.deepEqual(scan.hidden, [".aws/config", ".aws/credentials", ".env.production", ".npmrc", "lib/.cache/blob"]);
  });

  it("does not report hidden files that an ignore file leaves out anyway", async () => {
    const dir = await folder({
      "index.js": "",
      ".gitignore": ".next/\n.env.*\n",
      ".microsignore": ".vscode/\n",
      ".next/cache/big": "",
      ".env.local": "",
      ".vscode/settings.json": "",
      ".npmrc": "",
    });
    const scan = await scanFolder(dir);
    assert.deepEqual(scan.files, ["index.js"]);
    assert.deepEqual(scan.hidden, [".npmrc"]);
  });

  it("sends a hidden file or folder that .microsignore names with !, but not one that only .gitignore names", async () => {
    const dir = await folder({
      "index.js": "",
      ".microsignore": "!.well-known/\n!.babelrc\n",
      ".gitignore": ".env*\n!.env.example\n",
      ".well-known/security.txt": "Contact: x",
      ".babelrc": "{}",
      ".env.example": "A=",
    });
    assert.deepEqual(await listFiles(dir), [".babelrc", ".well-known/security.txt", "index.js"]);
  });

  it("reads .detaignore as Deta did: regular expressions anywhere in the path, ! keeps, the last match decides", async () => {
    const dir = await folder({
      "index.js": "",
      "tests/a.test.js": "",
      "src/tests/b.js": "",
      "debug.log": "",
      "keep.log": "",
      "docs/readme.md": "",
      ".well-known/assetlinks.json": "[]",
      ".detaignore": "^tests\n\\.log$\n!^keep\\.log$\n!\\.well-known\n",
    });
    const scan = await scanFolder(dir);
    assert.deepEqual(scan.files, [
      ".well-known/assetlinks.json",
      "docs/readme.md",
      "index.js",
      "keep.log",
      "src/tests/b.js",
    ]);
    assert.deepEqual(scan.notes, []);
  });

  it("reads a .detaignore line that is not a regular expression as a .gitignore pattern, and says so", async () => {
    const dir = await folder({ "index.js": "", "a.md": "", "b/c.md": "", ".detaignore": "*.md\n" });
    const scan = await scanFolder(dir);
    assert.deepEqual(scan.files, ["index.js"]);
    assert.deepEqual(scan.notes, [
      ".detaignore line 1 (*.md) is not a regular expression, as Deta read each line; it is read as a .gitignore pattern.",
    ]);
  });

  it("never sends local state, .env, the git repository or node_modules, whatever an ignore file says", async () => {
    const dir = await folder({
      "index.js": "",
      ".env": "",
      ".git/HEAD": "",
      ".deta/prog_info": "{}",
      "node_modules/x/index.js": "",
      ".microsignore": "!.env\n!.git/\n!node_modules/\n",
      ".detaignore": "!\\.env\n!node_modules\n!^\\.deta$\n",
    });
    assert.deepEqual(await listFiles(dir), ["index.js"]);
  });

  it("keeps leaving out what it left out before: .gitignore, caches, virtual environments, editors' backups", async () => {
    const dir = await folder({
      "main.py": "",
      "app.py~": "",
      "__pycache__/x.pyc": "",
      "venv/bin/python": "",
      "build/out.js": "",
      ".gitignore": "build/\n",
    });
    assert.deepEqual(await listFiles(dir), ["main.py"]);
  });

  it("tells watch which edits cannot change a release, at any depth", async () => {
    const dir = await folder({ "index.js": "", ".microsignore": "tmp/\n", ".detaignore": "\\.log$\n" });
    const ignored = await ignoreMatcher(dir);
    for (const path of [".aws/credentials", "src/.env.local", "tmp/x.js", "logs/today.log", ".micros/micro.json"]) {
      assert.equal(ignored(path), true, path);
    }
    for (const path of ["index.js", "src/app.js", "public/logo.png"]) assert.equal(ignored(path), false, path);
  });
});
