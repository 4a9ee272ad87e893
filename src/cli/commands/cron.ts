import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { MicrosError } from "../../shared/errors.js";
import { type CliContext, print, printJson, report } from "../context.js";
import { microSession, pathOrOption } from "../session.js";

const PATH_OPTION = [
  "-p, --path <path>",
  "the micro's folder (default: current folder; or give it as [path])",
] as const;

const isFolder = async (cwd: string, path: string) =>
  (await stat(resolve(cwd, path)).catch(() => undefined))?.isDirectory() ?? false;

/**
 * `set [path] <expression>`, Deta's order, and `set <expression> [-p path]`, Micros' first form: one word is the
 * expression; of two, the one that is a folder is the path (Deta's order first). Anything else is most often an
 * expression the shell split (`set 5 minutes`), which the error says.
 */
async function setArguments(words: string[], cwd: string): Promise<{ path?: string; expression: string }> {
  const [first, second, ...rest] = words;
  if (first === undefined) {
    throw new MicrosError("ERR_VALIDATION", 'Give the schedule: micros cron set "5 minutes" (or a cron expression).');
  }
  if (second === undefined) return { expression: first };
  const firstIsFolder = await isFolder(cwd, first);
  if (rest.length === 0) {
    if (firstIsFolder) return { path: first, expression: second };
    if (await isFolder(cwd, second)) return { path: second, expression: first };
  }
  const quoted = firstIsFolder ? `${first} "${[second, ...rest].join(" ")}"` : `"${words.join(" ")}"`;
  throw new MicrosError(
    "ERR_VALIDATION",
    `micros cron set takes the micro's folder (if not the current one) and the schedule in quotes: micros cron set ${quoted}`,
  );
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const cron = program
    .command("cron")
    .description("run the micro on a schedule (UTC); the app handles it with micros.cron(handler)");

  cron
    .command("set")
    .description(
      'set the schedule: a rate ("5 minutes", "1 hour", "2 days") or a cron expression ("0 8 * * 1-5", or AWS\'s "0 8 ? * MON-FRI *")',
    )
    .usage("[path] <expression>")
    .argument("[path]", "the micro's folder (default: current folder)")
    .argument("[expression]", "the schedule, quoted")
    .allowExcessArguments()
    .option(...PATH_OPTION)
    .option("--json", "print the micro's details as JSON")
    .addHelpText(
      "after",
      '\nExamples:\n  micros cron set "5 minutes"\n  micros cron set ./api "0 10 * * ? *"\n  micros cron set "0/5 8-17 ? * MON-FRI *" -p ./api',
    )
    .action((_path: unknown, _expression: unknown, options: { path?: string; json?: boolean }, command: Command) =>
      run(async () => {
        const { path, expression } = await setArguments(command.args, ctx.cwd);
        const { api, micro: local } = await microSession(ctx, pathOrOption(path, options.path));
        const { micro } = await api.setCron(local.id, expression);
        report(
          ctx,
          options.json,
          micro,
          `Scheduled ${micro.name} for "${micro.cron?.expression}"; next run at ${micro.cron?.nextRun}.`,
        );
        return 0;
      }),
    );

  cron
    .command("remove")
    .description("remove the schedule")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option(...PATH_OPTION)
    .action((path: string | undefined, options: { path?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, pathOrOption(path, options.path));
        await api.removeCron(micro.id);
        print(ctx, `Removed the schedule of ${micro.name}.`);
        return 0;
      }),
    );

  cron
    .command("trigger")
    .description("run the scheduled handler now, as the schedule would, and print how it went")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option(...PATH_OPTION)
    .action((path: string | undefined, options: { path?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, pathOrOption(path, options.path));
        const outcome = await api.triggerCron(micro.id);
        printJson(ctx, outcome);
        return outcome.ok ? 0 : 1;
      }),
    );
}
