import type { Command } from "commander";
import { type CliContext, print, printJson, report } from "../context.js";
import { microSession } from "../session.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const cron = program
    .command("cron")
    .description("run the micro on a schedule (UTC); the app handles it with micros.cron(handler)");

  cron
    .command("set")
    .description('set the schedule: a rate ("5 minutes", "1 hour", "2 days") or a cron expression ("0 8 * * 1-5")')
    .argument("<expression>", "the schedule, quoted")
    .option("-p, --path <path>", "the micro's folder (default: current folder)")
    .option("--json", "print the micro's details as JSON")
    .action((expression: string, options: { path?: string; json?: boolean }) =>
      run(async () => {
        const { api, micro: local } = await microSession(ctx, options.path);
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
    .option("-p, --path <path>", "the micro's folder (default: current folder)")
    .action((options: { path?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        await api.removeCron(micro.id);
        print(ctx, `Removed the schedule of ${micro.name}.`);
        return 0;
      }),
    );

  cron
    .command("trigger")
    .description("run the scheduled handler now, as the schedule would, and print how it went")
    .option("-p, --path <path>", "the micro's folder (default: current folder)")
    .action((options: { path?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        const outcome = await api.triggerCron(micro.id);
        printJson(ctx, outcome);
        return outcome.ok ? 0 : 1;
      }),
    );
}
