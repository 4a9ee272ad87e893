import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { MicrosError } from "../shared/errors.js";
import { ApiClient } from "./api-client.js";
import type { CliContext } from "./context.js";
import { loadCredentials } from "./credentials.js";
import { findMicro, type LocalMicro } from "./local-state.js";

export async function client(ctx: CliContext): Promise<ApiClient> {
  return new ApiClient(await loadCredentials(ctx));
}

/**
 * The folder a command's `[path]` names, from the current folder. One that does not exist is an error: looking
 * for a micro above it would act on the enclosing micro, which the user did not name.
 */
export async function namedFolder(ctx: CliContext, path: string | undefined): Promise<string> {
  if (path === undefined) return ctx.cwd;
  const dir = resolve(ctx.cwd, path);
  const stats = await stat(dir).catch(() => undefined);
  if (!stats) {
    throw new MicrosError(
      "ERR_VALIDATION",
      `There is no folder ${path} (${dir}). Give the micro's folder, or leave the path out to use the current folder.`,
    );
  }
  if (!stats.isDirectory()) {
    throw new MicrosError("ERR_VALIDATION", `${path} is a file, not a folder: give the micro's folder.`);
  }
  return dir;
}

/** The folder as `[path]` (Deta's form) or `-p` gives it; both at once, naming different folders, is a mistake. */
export function pathOrOption(path: string | undefined, option: string | undefined): string | undefined {
  if (path !== undefined && option !== undefined && resolve(path) !== resolve(option)) {
    throw new MicrosError("ERR_VALIDATION", `Give the micro's folder once: ${path} or -p ${option}, not both.`);
  }
  return path ?? option;
}

/** The API client and the micro of the folder at `path` (the current folder by default). */
export async function microSession(
  ctx: CliContext,
  path: string | undefined,
): Promise<{ api: ApiClient; dir: string; micro: LocalMicro }> {
  const { dir, micro } = await findMicro(await namedFolder(ctx, path));
  return { api: await client(ctx), dir, micro };
}
