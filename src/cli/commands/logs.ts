import type { Command } from "commander";
import type { LogView } from "../../shared/api.js";
import { type CliContext, print, step } from "../context.js";
import { microSession } from "../session.js";

/** `[time] [micros] …` for what the platform says, `[time] [instance] …` for what the app printed. */
function format(line: LogView): string {
  const tag = line.source === "platform" ? "[micros] " : line.instance ? `[${line.instance}] ` : "";
  return `[${line.time}] ${tag}${line.message}`;
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("logs")
    .description("print the micro's output (stdout, stderr) and platform events, newest last")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-f, --follow", "keep printing new lines as they come")
    .option("--since <duration>", "only lines newer than this (e.g. 10m, 2h) or an ISO time")
    .option("--json", "one JSON object per line")
    .action((path: string | undefined, options: { follow?: boolean; since?: string; json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, path);
        const show = (line: LogView) => print(ctx, options.json ? JSON.stringify(line) : format(line));
        if (!options.follow) {
          const { logs } = await api.logs(micro.id, options.since ? { since: options.since } : {});
          for (const line of logs) show(line);
          return 0;
        }
        step(ctx, `Following the logs of ${micro.name} (Ctrl-C to stop)...`);
        const abort = new AbortController();
        process.once("SIGINT", () => abort.abort());
        try {
          for await (const line of api.followLogs(
            micro.id,
            options.since ? { since: options.since } : {},
            abort.signal,
          ))
            show(line);
        } catch (err) {
          if (!abort.signal.aborted) throw err;
        }
        return 0;
      }),
    );
}
