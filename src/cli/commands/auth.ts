import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { type CliContext, print, printJson, report, step } from "../context.js";
import { microSession } from "../session.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const auth = program
    .command("auth")
    .description("make a micro private or public, and manage the API keys that open a private one");

  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    auth
      .command(name)
      .description(
        enabled ? "make the micro private: only API keys (or your token) get through" : "make the micro public",
      )
      .argument("[path]", "the micro's folder (default: current folder)")
      .option("--json", "print the micro's details as JSON")
      .action((path: string | undefined, options: { json?: boolean }) =>
        run(async () => {
          const { api, micro: local } = await microSession(ctx, path);
          const { micro } = await api.setHttpAuth(local.id, enabled);
          report(
            ctx,
            options.json,
            micro,
            `HTTP auth ${enabled ? "enabled: the micro is private" : "disabled: the micro is public"}.`,
          );
          return 0;
        }),
      );
  }

  auth
    .command("create-api-key")
    .description("create an API key for the micro; it is shown once")
    .argument("[path]", "the micro's folder (default: current folder)")
    .requiredOption("-n, --name <name>", "a name to tell the key by")
    .option("-d, --desc <description>", "what the key is for", "")
    .option("-o, --outfile <file>", "also write the key to this file (mode 0600)")
    .action((path: string | undefined, options: { name: string; desc: string; outfile?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, path);
        const { apiKey } = await api.createApiKey(micro.id, options.name, options.desc);
        if (options.outfile) {
          const file = resolve(ctx.cwd, options.outfile);
          await writeFile(file, `${JSON.stringify(apiKey, null, 2)}\n`, { mode: 0o600 });
          step(ctx, `Wrote the key to ${file}.`);
        }
        step(ctx, "THE FOLLOWING API KEY WILL ONLY BE SHOWN ONCE. Send it in the X-API-Key header.");
        printJson(ctx, apiKey);
        return 0;
      }),
    );

  auth
    .command("list-api-keys")
    .description("list the micro's API keys (names and prefixes; the keys themselves are never stored)")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, path);
        const { apiKeys } = await api.listApiKeys(micro.id);
        if (options.json) printJson(ctx, apiKeys);
        else if (apiKeys.length === 0) print(ctx, "No API keys.");
        else {
          for (const key of apiKeys)
            print(ctx, `${key.name.padEnd(20)} ${key.prefix}.…  ${key.createdAt}  ${key.description}`);
        }
        return 0;
      }),
    );

  auth
    .command("delete-api-key")
    .description("delete an API key; it stops working at once")
    .argument("[path]", "the micro's folder (default: current folder)")
    .requiredOption("-n, --name <name>", "the key's name")
    .action((path: string | undefined, options: { name: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, path);
        await api.deleteApiKey(micro.id, options.name);
        print(ctx, `Deleted the API key ${options.name}.`);
        return 0;
      }),
    );
}
