import { ApiClient } from "./api-client.js";
import type { CliContext } from "./context.js";
import { loadCredentials } from "./credentials.js";
import { findMicro, type LocalMicro } from "./local-state.js";

export async function client(ctx: CliContext): Promise<ApiClient> {
  return new ApiClient(await loadCredentials(ctx));
}

/** The API client and the micro of the folder at `path` (the current folder by default). */
export async function microSession(
  ctx: CliContext,
  path: string | undefined,
): Promise<{ api: ApiClient; dir: string; micro: LocalMicro }> {
  const { dir, micro } = await findMicro(path ?? ctx.cwd);
  return { api: await client(ctx), dir, micro };
}
