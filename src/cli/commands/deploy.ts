import type { Command } from "commander";
import { type CliContext, print, printJson } from "../context.js";
import { microSession } from "../session.js";
import { uploadRelease } from "../upload.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("deploy")
    .description("upload the micro's code as a new release; the previous one serves until it is live")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("--json", "print the new release as JSON")
    .action((path: string | undefined, options: { json?: boolean }) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        const result = await uploadRelease(ctx, api, micro.id, dir);
        if (options.json) printJson(ctx, result.release);
        else print(ctx, `Deployed ${micro.name} v${result.release.version}: ${result.micro.endpoint}`);
        return 0;
      }),
    );
}
