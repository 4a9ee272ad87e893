import { watch } from "node:fs";
import { sep } from "node:path";
import type { Command } from "commander";
import { toMicrosError } from "../../shared/errors.js";
import { type CliContext, print, step } from "../context.js";
import { ignoreMatcher } from "../pack.js";
import { microSession } from "../session.js";
import { deployChanges } from "../upload.js";

/** Edits usually come in bursts (an editor writes, renames, touches): wait this long for quiet. */
const QUIET_MS = 300;

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("watch")
    .description("deploy on every saved change, until Ctrl-C; a failed deploy is reported and watching goes on")
    .argument("[path]", "the micro's folder (default: current folder)")
    .action((path: string | undefined) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        const ignored = await ignoreMatcher(dir);
        // What a deploy leaves out is said once, not at every save.
        let first = true;
        const deployOnce = async () => {
          const reportSkipped = first;
          first = false;
          try {
            const result = await deployChanges(ctx, api, micro.id, dir, { reportSkipped });
            if (result) print(ctx, `Deployed ${micro.name} v${result.release.version}: ${result.micro.endpoint}`);
          } catch (err) {
            print(ctx, `Deploy failed, still watching: ${toMicrosError(err).message}`);
          }
        };

        // One deploy at a time; changes that arrive meanwhile make one more.
        let timer: NodeJS.Timeout | undefined;
        let deploying: Promise<void> | undefined;
        let pending = false;
        const schedule = () => {
          clearTimeout(timer);
          timer = setTimeout(async () => {
            if (deploying) {
              pending = true;
              return;
            }
            deploying = deployOnce();
            await deploying;
            deploying = undefined;
            if (pending) {
              pending = false;
              schedule();
            }
          }, QUIET_MS);
        };

        await deployOnce();
        const watcher = watch(dir, { recursive: true }, (_event, filename) => {
          if (filename && ignored(filename.split(sep).join("/"))) return;
          schedule();
        });
        step(ctx, `Watching ${dir} for changes (Ctrl-C to stop)...`);
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        watcher.close();
        clearTimeout(timer);
        await deploying;
        return 0;
      }),
    );
}
