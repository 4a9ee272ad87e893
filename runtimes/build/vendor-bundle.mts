import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import Module from "node:module";
import { join, relative } from "node:path";
import { Script } from "node:vm";
import { build, type Metafile, type Plugin } from "esbuild";

/**
 * Where a release's vendor bundle lives: inside node_modules, so it is reused and cached with the install it
 * was made from. The runner reads it from the same place (runtimes/node/vendor.mts).
 */
export const VENDOR_DIR = join("node_modules", ".micros");
const BUNDLE = "vendor.cjs";
const CODE_CACHE = "vendor.cjs.cache";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Code that would behave differently from one file than from its package's folder: it finds files next to
 * itself, looks at the module system, or reads its own URL.
 */
const LOCATION_DEPENDENT =
  /\b(__dirname|__filename|require\.resolve|require\.cache|require\.main|module\.parent|module\.children|process\.mainModule|import\.meta)\b/;

/**
 * Bundles the app's dependencies into one file, with a V8 code cache for it, so an instance loads them in
 * one read and without compiling: loading dozens of packages file by file (resolving, reading, compiling
 * each) is most of a Node app's cold start. Each dependency stays lazy: it runs when the app requires it,
 * as it would have. A dependency whose code depends on where it lives on disk, or that loads a native
 * addon, is left out and loads from node_modules as usual. Nothing here runs the app's code: esbuild only
 * reads it. It runs in the build sandbox, after the install, so it reads only the release being built.
 * Returns what it bundled.
 */
export async function buildVendorBundle(appDir: string): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(appDir, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const installed: string[] = [];
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (await exists(join(appDir, "node_modules", name, "package.json"))) installed.push(name);
  }
  const first = await bundle(appDir, installed);
  if (!first) return [];
  const unsafe = await unsafeInputs(appDir, first);
  const kept = installed.filter((name) => !reaches(first.metafile, first.roots.get(name), unsafe));
  const final = kept.length === installed.length ? first : await bundle(appDir, kept);
  if (!final || kept.length === 0) return [];
  const dir = join(appDir, VENDOR_DIR);
  await mkdir(dir, { recursive: true });
  const file = join(dir, BUNDLE);
  await writeFile(file, final.code);
  // Compiled, not run: the cache covers what V8 compiles eagerly, which is most of the load.
  const cache = new Script(Module.wrap(final.code), { filename: file }).createCachedData();
  await writeFile(join(dir, CODE_CACHE), cache);
  return kept;
}

interface Bundled {
  code: string;
  metafile: Metafile;
  /** Each dependency's first module in the bundle. */
  roots: Map<string, string>;
  /** Modules esbuild warned about (a require it could not follow). */
  warned: Set<string>;
}

const ENTRY = "<micros-vendor>";

async function bundle(appDir: string, names: string[]): Promise<Bundled | undefined> {
  if (names.length === 0) return undefined;
  const natives = new Set<string>();
  // A native addon cannot go into a bundle: note who loads one, and leave that dependency out.
  const nativeAddons: Plugin = {
    name: "native-addons",
    setup(builder) {
      builder.onResolve({ filter: /\.node$/ }, (args) => {
        natives.add(relative(appDir, args.importer));
        return { path: args.path, external: true };
      });
    },
  };
  const contents = `module.exports = {\n${names
    .map((name) => `  get ${JSON.stringify(name)}() { return require(${JSON.stringify(name)}); },`)
    .join("\n")}\n};\n`;
  const result = await build({
    stdin: { contents, resolveDir: appDir, sourcefile: ENTRY, loader: "js" },
    absWorkingDir: appDir,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: `node${process.versions.node.split(".")[0]}`,
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [nativeAddons],
  }).catch(() => undefined);
  const output = result?.outputFiles?.[0];
  if (!result || !output) return undefined;
  const roots = new Map<string, string>();
  for (const imported of result.metafile.inputs[ENTRY]?.imports ?? []) {
    if (imported.original) roots.set(imported.original, imported.path);
  }
  const warned = new Set([...natives, ...result.warnings.flatMap((warning) => warning.location?.file ?? [])]);
  return { code: output.text, metafile: result.metafile, roots, warned };
}

async function unsafeInputs(appDir: string, bundled: Bundled): Promise<Set<string>> {
  const unsafe = new Set(bundled.warned);
  for (const input of Object.keys(bundled.metafile.inputs)) {
    if (input === ENTRY || unsafe.has(input)) continue;
    const source = await readFile(join(appDir, input), "utf8").catch(() => "");
    if (LOCATION_DEPENDENT.test(source)) unsafe.add(input);
  }
  return unsafe;
}

/** Whether anything `root` loads, directly or not, is among `targets`. */
function reaches(metafile: Metafile, root: string | undefined, targets: Set<string>): boolean {
  if (root === undefined) return true;
  const seen = new Set<string>();
  const pending = [root];
  while (pending.length > 0) {
    const input = pending.pop() as string;
    if (targets.has(input)) return true;
    if (seen.has(input)) continue;
    seen.add(input);
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      if (!imported.external) pending.push(imported.path);
    }
  }
  return false;
}
