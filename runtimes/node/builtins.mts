/**
 * Libraries every micro finds without shipping them, as on Deta, which
 * pre-installed them: `deta` (and `detalib`, the name Deta's npm package asks
 * for its `App`). Only a fallback: an app's own copy in node_modules wins, and
 * nothing else resolves differently (no NODE_PATH).
 */
import Module, { register } from "node:module";

const BUILTINS: Record<string, string> = {
  deta: new URL("./deta/index.cjs", import.meta.url).href,
  detalib: new URL("./deta/index.cjs", import.meta.url).href,
};

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

/** `require()`'s fallback; `import` gets one too when the app is an ES module (a hook thread costs CommonJS apps nothing). */
export function useBuiltins(esm: boolean): void {
  const loader = Module as unknown as { _resolveFilename: ResolveFilename };
  const resolve = loader._resolveFilename;
  loader._resolveFilename = function resolveFilename(request, parent, isMain, options) {
    try {
      return resolve.call(this, request, parent, isMain, options);
    } catch (err) {
      const builtin = BUILTINS[request];
      if (builtin && (err as { code?: string }).code === "MODULE_NOT_FOUND") return new URL(builtin).pathname;
      throw err;
    }
  };
  if (esm) register(new URL("./builtins-hook.mjs", import.meta.url), { data: BUILTINS });
}
