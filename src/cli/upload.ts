import type { DeployView } from "../shared/api.js";
import { formatBytes } from "../shared/format.js";
import type { ApiClient } from "./api-client.js";
import { type CliContext, print, step } from "./context.js";
import { listFiles, packFiles } from "./pack.js";

/** Packs a micro's folder, uploads it as a new release, and says what happened at each step. */
export async function uploadRelease(
  ctx: CliContext,
  api: ApiClient,
  microId: string,
  dir: string,
): Promise<DeployView> {
  const files = await listFiles(dir);
  const archive = await packFiles(dir, files);
  step(ctx, `Packed ${files.length} file${files.length === 1 ? "" : "s"} (${formatBytes(archive.length)} compressed).`);
  step(ctx, `Uploading to ${api.host} and building the release (dependencies are installed on the server)...`);
  const result = await api.deploy(microId, archive);
  const install =
    result.release.install === "none"
      ? "no dependencies to install"
      : `dependencies installed with ${result.release.install}`;
  step(ctx, `Release v${result.release.version} is live (${install}).`);
  return result;
}

export function printInstallOutputOnFailure(ctx: CliContext, details: Record<string, unknown> | undefined): void {
  const output = details?.output;
  if (typeof output === "string" && output.trim()) {
    print(ctx, "--- install output ---");
    print(ctx, output.trimEnd());
    print(ctx, "----------------------");
  }
}
