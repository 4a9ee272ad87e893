import type { Command } from "commander";
import { type CliContext, printJson } from "../context.js";
import { printMicro } from "../output.js";
import { microSession } from "../session.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("details")
    .description("show a micro's endpoint, release, runtime and settings")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { json?: boolean }) =>
      run(async () => {
        const { api, micro: local } = await microSession(ctx, path);
        const { micro } = await api.getMicro(local.id);
        if (options.json) printJson(ctx, micro);
        else printMicro(ctx, micro);
        return 0;
      }),
    );
}
