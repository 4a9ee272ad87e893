import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { finished } from "node:stream/promises";
import type { Command } from "commander";
import { MicrosError } from "../../shared/errors.js";
import { type CliContext, print, printJson, step } from "../context.js";
import { DataClient } from "../data-client.js";
import { exportBase, importBase } from "../data-transfer.js";

const PROJECT_OPTION = [
  "--project <name>",
  "the project (default: the project of the micro in the current folder, else default)",
] as const;

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MicrosError("ERR_VALIDATION", `The ${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function positive(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1) throw new MicrosError("ERR_VALIDATION", `--limit takes a whole number from 1.`);
  return value;
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const base = program
    .command("base")
    .description("the project's Bases (Deta Base): list them, read and write items, export and import them");

  base
    .command("list")
    .description("list the project's bases and how many items each holds")
    .option(...PROJECT_OPTION)
    .option("--json", "print JSON for scripts")
    .action((options: { project?: string; json?: boolean }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        const bases = await client.listBases();
        if (options.json) printJson(ctx, bases);
        else if (bases.length === 0)
          print(ctx, `Project ${client.project} has no bases yet: the first write makes one.`);
        else
          for (const { name, items } of bases) print(ctx, `${name.padEnd(32)} ${items} item${items === 1 ? "" : "s"}`);
        return 0;
      }),
    );

  base
    .command("get")
    .description("print an item as JSON")
    .argument("<base>", "the base's name")
    .argument("<key>", "the item's key")
    .option(...PROJECT_OPTION)
    .action((name: string, key: string, options: { project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        const item = await client.getItem(name, key);
        if (!item) throw new MicrosError("ERR_NOT_FOUND", `Base ${name} has no item with the key ${key}.`);
        printJson(ctx, item);
        return 0;
      }),
    );

  base
    .command("put")
    .description("store an item, replacing any with its key; without a key one is generated")
    .argument("<base>", "the base's name")
    .argument("<item>", `the item as JSON, e.g. '{"key": "a", "n": 1}' (other values are stored as {"value": ...})`)
    .option("--key <key>", "the item's key (instead of a key in the JSON)")
    .option(...PROJECT_OPTION)
    .option("--json", "print the stored item as JSON")
    .action((name: string, text: string, options: { key?: string; project?: string; json?: boolean }) =>
      run(async () => {
        const value = json(text, "item");
        const item: Record<string, unknown> =
          typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value } : { value };
        if (options.key !== undefined) item.key = options.key;
        const client = await DataClient.open(ctx, options.project);
        const [stored] = await client.putItems(name, [item]);
        if (options.json) printJson(ctx, stored);
        else print(ctx, `Stored the item ${stored?.key} in base ${name}.`);
        return 0;
      }),
    );

  base
    .command("delete")
    .description("delete an item (deleting one that is not there is not an error)")
    .argument("<base>", "the base's name")
    .argument("<key>", "the item's key")
    .option(...PROJECT_OPTION)
    .action((name: string, key: string, options: { project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        await client.deleteItem(name, key);
        print(ctx, `Deleted the item ${key} from base ${name}.`);
        return 0;
      }),
    );

  base
    .command("query")
    .description("print the items that match a query, one JSON item per line (every item without a query)")
    .argument("<base>", "the base's name")
    .argument("[query]", `a Deta query as JSON: {"age?gte": 18} or a list of them, ORed`)
    .option("--limit <count>", "print at most this many", positive)
    .option("--desc", "in descending key order")
    .option(...PROJECT_OPTION)
    .option("--json", "print one JSON list instead of a line per item")
    .action(
      (
        name: string,
        text: string | undefined,
        options: { limit?: number; desc?: boolean; project?: string; json?: boolean },
      ) =>
        run(async () => {
          const query = text === undefined ? [] : json(text, "query");
          const client = await DataClient.open(ctx, options.project);
          const items = client.queryAll(name, query, {
            ...(options.limit !== undefined && { limit: options.limit }),
            ...(options.desc && { desc: true }),
          });
          if (options.json) {
            const all = [];
            for await (const item of items) all.push(item);
            printJson(ctx, all);
            return 0;
          }
          let count = 0;
          for await (const item of items) {
            print(ctx, JSON.stringify(item));
            count++;
          }
          step(ctx, `${count} item${count === 1 ? "" : "s"}.`);
          return 0;
        }),
    );

  base
    .command("export")
    .description("write every item of the base as JSON lines, to a file or stdout (import reads them back)")
    .argument("<base>", "the base's name")
    .argument("[file]", "where to write (default: stdout)")
    .option(...PROJECT_OPTION)
    .action((name: string, file: string | undefined, options: { project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        if (file === undefined) {
          const count = await exportBase(client, name, ctx.stdout);
          step(ctx, `Exported ${count} item${count === 1 ? "" : "s"} of base ${name}.`);
          return 0;
        }
        const out = createWriteStream(resolve(ctx.cwd, file), { flags: "w" });
        const count = await exportBase(client, name, out);
        out.end();
        await finished(out);
        print(ctx, `Exported ${count} item${count === 1 ? "" : "s"} of base ${name} to ${file}.`);
        return 0;
      }),
    );

  base
    .command("import")
    .description(
      'store the items of a file in the base, replacing those with the same keys: JSON lines (as export writes), a JSON list, or {"items": [...]}',
    )
    .argument("<base>", "the base's name")
    .argument("<file>", "the file to read")
    .option(...PROJECT_OPTION)
    .action((name: string, file: string, options: { project?: string }) =>
      run(async () => {
        const client = await DataClient.open(ctx, options.project);
        const count = await importBase(client, name, resolve(ctx.cwd, file), (done) => {
          if (done % 1000 === 0) step(ctx, `${done} items...`);
        });
        print(ctx, `Imported ${count} item${count === 1 ? "" : "s"} into base ${name}.`);
        return 0;
      }),
    );
}
