import type { Command } from "commander";
import type { MicroView } from "../../shared/api.js";
import { type CliContext, print, printJson } from "../context.js";
import { client } from "../session.js";
import { table } from "../table.js";

/** Instances that take requests or finish them: a micro with none is asleep. */
const awake = (micro: MicroView) => micro.instances.filter((instance) => instance.state !== "stopped").length;

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("list")
    .description("list your micros in every project: endpoint, current release and awake instances")
    .option("--json", "print JSON for scripts (each micro as `details --json` gives it)")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { micros } = await (await client(ctx)).listMicros();
        if (options.json) printJson(ctx, micros);
        else if (micros.length === 0) print(ctx, "No micros yet: `micros new` in an app's folder creates one.");
        else {
          const rows = [...micros]
            .sort((a, b) => a.project.localeCompare(b.project) || a.name.localeCompare(b.name))
            .map((micro) => [
              micro.project,
              micro.name,
              micro.runtime,
              micro.endpoint,
              micro.release ? `v${micro.release.version}` : "none",
              String(awake(micro)),
            ]);
          for (const line of table(["PROJECT", "NAME", "RUNTIME", "ENDPOINT", "RELEASE", "INSTANCES"], rows)) {
            print(ctx, line);
          }
        }
        return 0;
      }),
    );
}
