import type { Writable } from "node:stream";

/** What a command may touch of the outside world, passed in so commands can run in-process in tests. */
export interface CliContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function print(ctx: CliContext, line = ""): void {
  ctx.stdout.write(`${line}\n`);
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The result of a command: JSON for scripts with --json, else a line for people. */
export function report(ctx: CliContext, json: boolean | undefined, value: unknown, line: string): void {
  if (json) printJson(ctx, value);
  else print(ctx, line);
}

/** Progress and status lines: on stderr, so `--json` output on stdout stays clean for scripts. */
export function step(ctx: CliContext, line: string): void {
  ctx.stderr.write(`${line}\n`);
}
