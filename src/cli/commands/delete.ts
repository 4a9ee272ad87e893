import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { MicrosError } from "../../shared/errors.js";
import { type CliContext, print } from "../context.js";
import { STATE_DIR } from "../local-state.js";
import { microSession } from "../session.js";

async function confirmed(ctx: CliContext, question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new MicrosError("ERR_VALIDATION", "Deleting needs a confirmation: run it in a terminal, or pass --yes.");
  }
  const prompt = createInterface({ input: process.stdin, output: ctx.stderr });
  const answer = await prompt.question(`${question} [y/N] `);
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("delete")
    .description("delete a micro with its releases, variables and logs (its local files stay)")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-y, --yes", "do not ask for confirmation")
    .action((path: string | undefined, options: { yes?: boolean }) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        const question = `Delete the micro ${micro.name} (${micro.id}) with all its releases, variables and logs?`;
        if (!options.yes && !(await confirmed(ctx, question))) {
          print(ctx, "Nothing was deleted.");
          return 1;
        }
        await api.deleteMicro(micro.id);
        await rm(join(dir, STATE_DIR), { recursive: true, force: true });
        print(ctx, `Deleted ${micro.name}. The files in ${dir} are untouched.`);
        return 0;
      }),
    );
}
