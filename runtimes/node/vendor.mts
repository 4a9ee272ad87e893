/**
 * Serves the app's `require("<dependency>")` from the vendor bundle the
 * platform built at deploy (runtimes/build/vendor-bundle.mts), with its V8
 * code cache: one read and no compiling instead of resolving, reading and
 * compiling each package file by file. Only the app's own files are served from
 * it; a dependency requiring another gets it from inside the bundle already.
 */
import { existsSync, readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { Script } from "node:vm";

type Load = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;

export function useVendorBundle(appDir: string): void {
  const file = join(appDir, "node_modules", ".micros", "vendor.cjs");
  if (!existsSync(file)) return;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // Without the cache the bundle still saves the resolving and reading.
  }
  const script = new Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  const vendor = module.exports;
  const dependencies = join(appDir, "node_modules") + sep;
  const loader = Module as unknown as { _load: Load };
  const load = loader._load;
  loader._load = function vendored(request, parent, isMain) {
    if (Object.hasOwn(vendor, request) && !parent?.filename?.startsWith(dependencies)) return vendor[request];
    return load.call(this, request, parent, isMain);
  };
}
