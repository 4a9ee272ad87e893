import { createInterface } from "node:readline/promises";
import { MicrosError } from "../shared/errors.js";
import type { CliContext } from "./context.js";

/** Asks a yes/no question on the terminal; without one, the caller must have been told to pass a flag. */
export async function confirm(ctx: CliContext, question: string, flag: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new MicrosError("ERR_VALIDATION", `This needs a confirmation: run it in a terminal, or pass ${flag}.`);
  }
  const prompt = createInterface({ input: process.stdin, output: ctx.stderr });
  const answer = await prompt.question(`${question} [y/N] `);
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}
