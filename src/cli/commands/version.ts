import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { type CliContext, report } from "../context.js";

/** The version in Micros' own package.json, found upwards from this file (it runs from src/ or dist/src/). */
function ownVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "micros" && pkg.version) return pkg.version;
    } catch {
      // No package.json here: keep going up.
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}

export const VERSION = ownVersion();

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
