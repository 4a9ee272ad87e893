import type { Command } from "commander";
import { type CliContext, report } from "../context.js";
import { VERSION } from "../version.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("version")
    .description("print the version of micros")
    .option("--json", "print JSON for scripts")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const platform = `${process.platform}-${process.arch}`;
        report(
          ctx,
          options.json,
          { version: VERSION, node: process.versions.node, platform },
          `micros ${VERSION} (node ${process.versions.node}, ${platform})`,
        );
        return 0;
      }),
    );
}
