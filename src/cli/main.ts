import { Command, CommanderError } from "commander";
import { MicrosError, toMicrosError } from "../shared/errors.js";
import type { CliContext } from "./context.js";
import { printInstallOutputOnFailure } from "./install-output.js";
import { VERSION } from "./version.js";

export type Run = (work: () => Promise<number>) => Promise<void>;

interface CommandModule {
  register(program: Command, ctx: CliContext, run: Run): void;
}

/**
 * Every command, by the names it is typed as, in the order help lists them. Each runs through `run`, which turns
 * errors into a message and exit code. A module is loaded only when one of its names is typed (or for the full
 * help): what a command needs (archives, schemas, the server's settings) costs start-up time to that command alone.
 */
const COMMANDS: readonly (readonly [readonly string[], () => Promise<CommandModule>])[] = [
  [["login", "logout", "whoami"], () => import("./commands/login.js")],
  [["tokens"], () => import("./commands/tokens.js")],
  [["users"], () => import("./commands/users.js")],
  [["nodes"], () => import("./commands/nodes.js")],
  [["projects"], () => import("./commands/projects.js")],
  [["list"], () => import("./commands/list.js")],
  [["new"], () => import("./commands/new.js")],
  [["deploy"], () => import("./commands/deploy.js")],
  [["watch"], () => import("./commands/watch.js")],
  [["releases", "rollback"], () => import("./commands/releases.js")],
  [["details"], () => import("./commands/details.js")],
  [["domains"], () => import("./commands/domains.js")],
  [["logs"], () => import("./commands/logs.js")],
  [["update"], () => import("./commands/update.js")],
  [["auth"], () => import("./commands/auth.js")],
  [["run"], () => import("./commands/run.js")],
  [["cron"], () => import("./commands/cron.js")],
  [["visor"], () => import("./commands/visor.js")],
  [["base"], () => import("./commands/base.js")],
  [["drive"], () => import("./commands/drive.js")],
  [["clone", "pull"], () => import("./commands/clone.js")],
  [["delete"], () => import("./commands/delete.js")],
  [["server"], () => import("./commands/server.js")],
  [["version"], () => import("./commands/version.js")],
];

/**
 * The command tree, for running and for generating docs/cli.md: with `typed`, only the command of that name when
 * there is one (anything else, `--help` included, gets every command).
 */
export async function buildProgram(ctx: CliContext, run: Run, typed?: string): Promise<Command> {
  const program = new Command("micros")
    .description("Micros: deploy small web apps to your own server")
    .version(VERSION, "-v, --version")
    .exitOverride()
    .configureOutput({ writeOut: (text) => ctx.stdout.write(text), writeErr: (text) => ctx.stderr.write(text) });
  const one = COMMANDS.find(([names]) => typed !== undefined && names.includes(typed));
  const modules = await Promise.all((one ? [one] : COMMANDS).map(([, load]) => load()));
  for (const module of modules) module.register(program, ctx, run);
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
  const program = await buildProgram(ctx, run, argv[0]);
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
