import type { Command } from "commander";
import { type CliContext, print, printJson, step } from "../context.js";
import { parseRunArgs } from "../run-args.js";
import { microSession } from "../session.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("run")
    .description("run one of the micro's actions and print its result (the app registers them with micros.run)")
    .argument("[words...]", "the action, then -- and its arguments: --key value, repeated keys, bare --flags")
    .option("-l, --logs", "also print what the app logged while running it")
    .option("-p, --path <path>", "the micro's folder (default: current folder)")
    .addHelpText("after", "\nExamples:\n  micros run\n  micros run greet -- --name ada --tag a --tag b --loud")
    .action((words: string[], options: { logs?: boolean; path?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        const { action, args } = parseRunArgs(words);
        step(ctx, `Running ${action ? `action ${action}` : "the default action"} of ${micro.name}...`);
        const { result, logs } = await api.runAction(micro.id, action, args);
        if (options.logs) {
          print(ctx, "Logs:");
          for (const line of logs) print(ctx, `  ${line}`);
          print(ctx, "Result:");
        }
        printJson(ctx, result);
        return 0;
      }),
    );
}
