import { Command, CommanderError } from "commander";
import { MicrosError, toMicrosError } from "../shared/errors.js";
import * as auth from "./commands/auth.js";
import * as base from "./commands/base.js";
import * as clone from "./commands/clone.js";
import * as cron from "./commands/cron.js";
import * as deleteMicro from "./commands/delete.js";
import * as deploy from "./commands/deploy.js";
import * as details from "./commands/details.js";
import * as domains from "./commands/domains.js";
import * as drive from "./commands/drive.js";
import * as list from "./commands/list.js";
import * as login from "./commands/login.js";
import * as logs from "./commands/logs.js";
import * as newMicro from "./commands/new.js";
import * as projects from "./commands/projects.js";
import * as releases from "./commands/releases.js";
import * as runAction from "./commands/run.js";
import * as server from "./commands/server.js";
import * as tokens from "./commands/tokens.js";
import * as update from "./commands/update.js";
import * as users from "./commands/users.js";
import * as version from "./commands/version.js";
import * as visor from "./commands/visor.js";
import * as watch from "./commands/watch.js";
import type { CliContext } from "./context.js";
import { printInstallOutputOnFailure } from "./upload.js";

export type Run = (work: () => Promise<number>) => Promise<void>;

/** Every command registers itself here; each runs through `run`, which turns errors into a message and exit code. */
const COMMANDS = [
  login,
  tokens,
  users,
  projects,
  list,
  newMicro,
  deploy,
  watch,
  releases,
  details,
  domains,
  logs,
  update,
  auth,
  runAction,
  cron,
  visor,
  base,
  drive,
  clone,
  deleteMicro,
  server,
  version,
];

/** The whole command tree, for running and for generating docs/cli.md. */
export function buildProgram(ctx: CliContext, run: Run): Command {
  const program = new Command("micros")
    .description("Micros: deploy small web apps to your own server")
    .version(version.VERSION, "-v, --version")
    .exitOverride()
    .configureOutput({ writeOut: (text) => ctx.stdout.write(text), writeErr: (text) => ctx.stderr.write(text) });
  for (const command of COMMANDS) command.register(program, ctx, run);
  return program;
}

/**
 * Runs one command and returns its exit code. A reader that stops early (`micros logs | head`) closes stdout: the
 * command then ends quietly with the code it has so far, never with a stack trace (stderr alike).
 */
export async function main(argv: string[], ctx: CliContext): Promise<number> {
  let exitCode = 0;
  const outputClosed = new Promise<number>((resolve) => {
    // Every later write to a closed stream fails too: the listeners stay, so none of those errors is thrown.
    for (const stream of [ctx.stdout, ctx.stderr]) stream.on("error", () => resolve(exitCode));
  });
  /** What went wrong and what to do, on stderr; a stack trace only for a bug (an error that is not ours). */
  const fail = (err: unknown): number => {
    const error = toMicrosError(err);
    ctx.stderr.write(`Error: ${error.message}\n`);
    if (error.code === "ERR_DEPENDENCY_INSTALL_FAILED")
      printInstallOutputOnFailure({ ...ctx, stdout: ctx.stderr }, error.details);
    if (error.code === "ERR_INTERNAL" && err instanceof Error && !(err instanceof MicrosError)) {
      ctx.stderr.write(`${err.stack ?? ""}\n`);
    }
    return 1;
  };
  const run: Run = async (work) => {
    try {
      exitCode = await work();
    } catch (err) {
      exitCode = fail(err);
    }
  };
  const program = buildProgram(ctx, run);
  const ran = program.parseAsync(argv, { from: "user" }).then(
    () => exitCode,
    // Commander's own errors are printed already; an option's parser that refused its value throws ours.
    (err: unknown) => (err instanceof CommanderError ? err.exitCode : fail(err)),
  );
  return Promise.race([ran, outputClosed]);
}

/** The CLI on this process's streams, as `bin/micros.js` runs it; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let outputClosed = false;
  process.stdout.once("error", () => {
    outputClosed = true;
  });
  const code = await main(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
  // Whatever still runs (a followed log stream) has no one left to write to.
  if (outputClosed) process.exit(code);
  return code;
}
