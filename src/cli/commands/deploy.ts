import type { Command } from "commander";
import { type CliContext, print, printJson } from "../context.js";
import { microSession } from "../session.js";
import { deployChanges } from "../upload.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("deploy")
    .description("upload the micro's code as a new release; the previous one serves until it is live")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-f, --force", "send every file, not only those that changed")
    .option("--json", "print the new release as JSON (null when nothing changed)")
    .action((path: string | undefined, options: { json?: boolean; force?: boolean }) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        const result = await deployChanges(ctx, api, micro.id, dir, options.force ?? false);
        if (options.json) printJson(ctx, result?.release ?? null);
        else if (result) print(ctx, `Deployed ${micro.name} v${result.release.version}: ${result.micro.endpoint}`);
        return 0;
      }),
    );
}
