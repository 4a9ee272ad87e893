import { createWriteStream } from "node:fs";
import { basename, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import type { Command } from "commander";
import { MicrosError } from "../../shared/errors.js";
import { formatStorage } from "../../shared/format.js";
import { type CliContext, print, printJson, step } from "../context.js";
import { DataClient, DELETE_BATCH } from "../data-client.js";
import { exportDrive, importDrive, uploadFile } from "../data-transfer.js";

const PROJECT_OPTION = [
  "--project <name>",
  "the project (default: the project of the micro in the current folder, else default)",
] as const;

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const drive = program
    .command("drive")
    .description("the project's Drives (Deta Drive): list, upload, download and delete files, export and import them");

  drive
    .command("list")
    .description("list the project's drives, or the files of one")
    .argument("[drive]", "the drive whose files to list")
    .option("--prefix <prefix>", "only files whose names start with this")
    .option(...PROJECT_OPTION)
    .option("--json", "print JSON for scripts")
    .action((name: string | undefined, options: { prefix?: string; project?: string; json?: boolean }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        if (name === undefined) {
          const drives = await client.listDrives();
          if (options.json) printJson(ctx, drives);
          else if (drives.length === 0)
            print(ctx, `Project ${client.project} has no drives yet: the first upload makes one.`);
          else
            for (const d of drives)
              print(ctx, `${d.name.padEnd(32)} ${d.files} file${d.files === 1 ? "" : "s"}, ${formatStorage(d.bytes)}`);
          return 0;
        }
        const names: string[] = [];
        for await (const file of client.allFiles(name, options.prefix)) {
          if (options.json) names.push(file);
          else print(ctx, file);
        }
        if (options.json) printJson(ctx, names);
        return 0;
      }),
    );

  drive
    .command("put")
    .description("upload a file (over 10 MB in parts), replacing any of that name")
    .argument("<drive>", "the drive's name")
    .argument("<file>", "the file to upload")
    .option("--name <name>", "its name in the drive, folders separated by / (default: the file's name)")
    .option("--content-type <type>", "its type (default: what its name tells, else application/octet-stream)")
    .option(...PROJECT_OPTION)
    .action((name: string, file: string, options: { name?: string; contentType?: string; project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        const target = options.name ?? basename(file);
        const bytes = await uploadFile(client, name, target, resolve(ctx.cwd, file), options.contentType);
        print(ctx, `Uploaded ${target} (${formatStorage(bytes)}) to drive ${name}.`);
        return 0;
      }),
    );

  drive
    .command("get")
    .description("download a file")
    .argument("<drive>", "the drive's name")
    .argument("<name>", "the file's name in the drive")
    .option("-o, --output <file>", "where to write it, - for stdout (default: its name's last part, here)")
    .option(...PROJECT_OPTION)
    .action((name: string, file: string, options: { output?: string; project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        const answer = await client.getFile(name, file);
        if (!answer?.body) throw new MicrosError("ERR_NOT_FOUND", `Drive ${name} has no file ${file}.`);
        const body = Readable.fromWeb(answer.body as ReadableStream);
        if (options.output === "-") {
          await pipeline(body, ctx.stdout, { end: false });
          return 0;
        }
        const target = resolve(ctx.cwd, options.output ?? basename(file));
        await pipeline(body, createWriteStream(target));
        step(ctx, `Downloaded ${file} to ${target}.`);
        return 0;
      }),
    );

  drive
    .command("delete")
    .description("delete files (deleting one that is not there is not an error)")
    .argument("<drive>", "the drive's name")
    .argument("<names...>", "the files' names in the drive")
    .option(...PROJECT_OPTION)
    .action((name: string, names: string[], options: { project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        let deleted = 0;
        for (let start = 0; start < names.length; start += DELETE_BATCH) {
          deleted += (await client.deleteFiles(name, names.slice(start, start + DELETE_BATCH))).length;
        }
        print(ctx, `Deleted ${deleted} file${deleted === 1 ? "" : "s"} from drive ${name}.`);
        return 0;
      }),
    );

  drive
    .command("export")
    .description("download every file of the drive into a folder, or a .tar, .tar.gz or .tgz file")
    .argument("<drive>", "the drive's name")
    .argument("<target>", "a folder (made if missing), or a tar file")
    .option(...PROJECT_OPTION)
    .action((name: string, target: string, options: { project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        const count = await exportDrive(client, name, resolve(ctx.cwd, target), (line) => step(ctx, line));
        print(ctx, `Exported ${count} file${count === 1 ? "" : "s"} of drive ${name} to ${target}.`);
        return 0;
      }),
    );

  drive
    .command("import")
    .description("upload every file of a folder, or of a .tar, .tar.gz or .tgz file, named by its path in it")
    .argument("<drive>", "the drive's name")
    .argument("<source>", "a folder, or a tar file")
    .option(...PROJECT_OPTION)
    .action((name: string, source: string, options: { project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        const count = await importDrive(client, name, resolve(ctx.cwd, source), () => {});
        print(ctx, `Imported ${count} file${count === 1 ? "" : "s"} into drive ${name}.`);
        return 0;
      }),
    );
}
