import type { Command } from "commander";
import type { ReleaseView } from "../../shared/api.js";
import { formatBytes } from "../../shared/format.js";
import { type CliContext, print, printJson } from "../context.js";
import { microSession } from "../session.js";

function row(release: ReleaseView): string {
  const marker = release.current ? "*" : " ";
  return `${marker} v${String(release.version).padEnd(4)} ${release.createdAt}  ${String(release.fileCount).padStart(5)} files  ${formatBytes(release.codeBytes).padStart(9)}  ${release.install}`;
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("releases")
    .description("list the kept releases of a micro, newest first (* serves now)")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, path);
        const { releases } = await api.listReleases(micro.id);
        if (options.json) printJson(ctx, releases);
        else for (const release of releases) print(ctx, row(release));
        return 0;
      }),
    );

  program
    .command("rollback")
    .description("serve a kept release again, at once (default: the one before the current)")
    .argument("[release]", "a version (3 or v3) from `micros releases`")
    .option("-p, --path <path>", "the micro's folder (default: current folder)")
    .option("--json", "print the micro's details as JSON")
    .addHelpText("after", "\nExamples:\n  micros rollback\n  micros rollback v3")
    .action((release: string | undefined, options: { path?: string; json?: boolean }) =>
      run(async () => {
        const { api, micro: local } = await microSession(ctx, options.path);
        const { micro } = await api.rollback(local.id, release);
        if (options.json) printJson(ctx, micro);
        else
          print(ctx, `Rolled back ${micro.name}: release v${micro.release?.version} serves now at ${micro.endpoint}`);
        return 0;
      }),
    );
}
