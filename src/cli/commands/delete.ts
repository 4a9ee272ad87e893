import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { confirm } from "../confirm.js";
import { type CliContext, print, report } from "../context.js";
import { STATE_DIR } from "../local-state.js";
import { microSession } from "../session.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("delete")
    .description("delete a micro with its releases, variables and logs (its local files stay)")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { yes?: boolean; json?: boolean }) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        const question = `Delete the micro ${micro.name} (${micro.id}) with all its releases, variables and logs?`;
        if (!options.yes && !(await confirm(ctx, question, "--yes"))) {
          print(ctx, "Nothing was deleted.");
          return 1;
        }
        await api.deleteMicro(micro.id);
        await rm(join(dir, STATE_DIR), { recursive: true, force: true });
        report(ctx, options.json, { deleted: micro.id }, `Deleted ${micro.name}. The files in ${dir} are untouched.`);
        return 0;
      }),
    );
}
