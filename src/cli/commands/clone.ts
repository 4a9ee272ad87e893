import { mkdir, readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import * as tar from "tar";
import { MicrosError } from "../../shared/errors.js";
import type { ApiClient } from "../api-client.js";
import { confirm } from "../confirm.js";
import { type CliContext, print, report, step } from "../context.js";
import { writeMicro } from "../local-state.js";
import { client, microSession } from "../session.js";

/** Writes the micro's deployed code into `dir`; tar refuses absolute paths and `..` on the way in. */
async function unpackCode(api: ApiClient, microId: string, dir: string): Promise<void> {
  const archive = await api.downloadCode(microId);
  await pipeline(Readable.from(archive), tar.x({ cwd: dir, strict: true }));
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("clone")
    .description(
      "fetch a micro's deployed code and its .micros/ state into a new folder (also: restore a lost .micros/)",
    )
    .argument("[path]", "the folder to create (default: ./<name>)")
    .requiredOption("--name <name>", "the micro's name")
    .option("--project <project>", "its project", "default")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { name: string; project: string; json?: boolean }) =>
      run(async () => {
        const api = await client(ctx);
        const { micros } = await api.findMicro(options.name, options.project);
        const micro = micros[0];
        if (!micro) {
          throw new MicrosError(
            "ERR_MICRO_NOT_FOUND",
            `No micro named ${options.name} in project ${options.project}. \`micros projects\` lists your projects.`,
          );
        }
        const dir = resolve(ctx.cwd, path ?? options.name);
        await mkdir(dir, { recursive: true });
        if ((await readdir(dir)).length > 0) {
          throw new MicrosError("ERR_VALIDATION", `${dir} is not empty; clone into a new or empty folder.`);
        }
        step(ctx, `Fetching the code of ${micro.name} (release v${micro.release?.version ?? "?"})...`);
        await unpackCode(api, micro.id, dir);
        await writeMicro(dir, { id: micro.id, name: micro.name, project: micro.project, host: api.host });
        report(ctx, options.json, { dir, micro }, `Cloned ${micro.name} into ${dir}.`);
        return 0;
      }),
    );

  program
    .command("pull")
    .description("overwrite the folder's files with the deployed code (asks first)")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-f, --force", "do not ask before overwriting")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { force?: boolean; json?: boolean }) =>
      run(async () => {
        const { api, dir, micro } = await microSession(ctx, path);
        const question = `Files in ${dir} may be overwritten by the deployed code of ${micro.name}. Continue?`;
        if (!options.force && !(await confirm(ctx, question, "--force"))) {
          print(ctx, "Nothing was changed.");
          return 1;
        }
        await unpackCode(api, micro.id, dir);
        report(ctx, options.json, { dir, micro: micro.id }, `Pulled the deployed code of ${micro.name} into ${dir}.`);
        return 0;
      }),
    );
}
