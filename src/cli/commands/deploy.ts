import type { Command } from "commander";
import { type CliContext, print, printJson, step } from "../context.js";
import { microSession } from "../session.js";
import { deployChanges, deployEverything } from "../upload.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const deploy = program
    .command("deploy")
    .description("upload the micro's code as a new release; the previous one serves until it is live")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-f, --force", "send every file, not only those that changed")
    .option("--json", "print the new release as JSON (null when nothing changed)")
    .addHelpText(
      "after",
      "\nHidden files and folders (.env.production, .npmrc, .aws/) are not uploaded; .gitignore, .microsignore and\n.detaignore leave out more, and a ! line in .microsignore sends a hidden file.",
    )
    .action((path: string | undefined, options: { json?: boolean; force?: boolean }) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        const result = await deployChanges(ctx, api, micro.id, dir, { force: options.force ?? false });
        if (options.json) printJson(ctx, result?.release ?? null);
        else if (result) print(ctx, `Deployed ${micro.name} v${result.release.version}: ${result.micro.endpoint}`);
        return 0;
      }),
    );

  deploy
    .command("purge-dependencies")
    .description(
      "deploy again with the dependencies installed from scratch: every file is sent, no earlier install is reused",
    )
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("--json", "print the new release as JSON")
    .action((path: string | undefined, options: { json?: boolean }) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        step(ctx, `Purging the dependencies of ${micro.name}: they are installed again from scratch.`);
        const result = await deployEverything(ctx, api, micro.id, dir, { fresh: true });
        if (options.json) printJson(ctx, result.release);
        else print(ctx, `Deployed ${micro.name} v${result.release.version}: ${result.micro.endpoint}`);
        return 0;
      }),
    );
}
