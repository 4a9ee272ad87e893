import { createRequire } from "node:module";
import type { Command } from "commander";
import { type CliContext, print } from "../context.js";

export const VERSION = (createRequire(import.meta.url)("../../../../package.json") as { version: string }).version;

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("version")
    .description("print the version of micros")
    .action(() =>
      run(async () => {
        print(ctx, `micros ${VERSION} (node ${process.versions.node}, ${process.platform}-${process.arch})`);
        return 0;
      }),
    );
}
