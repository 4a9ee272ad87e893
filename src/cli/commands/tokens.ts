import { type Command, Option } from "commander";
import type { TokenView } from "../../shared/api.js";
import { EXPIRY_RULE, expiryTime } from "../../shared/token-expiry.js";
import { type CliContext, print, printJson, step } from "../context.js";
import { client } from "../session.js";
import { shortTime, table } from "../table.js";

/** `--expires`, checked here so a mistake is told before anything is sent; the server counts from its own clock. */
export function expiresOption(command: Command): Command {
  return command.addOption(
    new Option("--expires <when>", `when the token stops working: ${EXPIRY_RULE} (default: never)`).argParser(
      (text: string) => {
        expiryTime(text, Date.now());
        return text;
      },
    ),
  );
}

function expires(token: TokenView): string {
  if (!token.expiresAt) return "never";
  return `${token.expired ? "expired " : ""}${shortTime(token.expiresAt)}`;
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const tokens = program
    .command("tokens")
    .description("manage your own access tokens: one per machine or script, each revocable on its own")
    .addHelpText(
      "after",
      "\nExamples:\n  micros tokens create ci --expires 30d\n  micros tokens list\n  micros tokens revoke ci",
    );

  expiresOption(
    tokens
      .command("create")
      .description("create an access token; prints it, shown only this once")
      .argument("<name>", "a name to tell the token by (unique among yours)")
      .option("--json", "print JSON for scripts"),
  ).action((name: string, options: { expires?: string; json?: boolean }) =>
    run(async () => {
      const api = await client(ctx);
      const created = await api.createToken({ name, expires: options.expires });
      if (options.json) printJson(ctx, created);
      else {
        const until = created.info.expiresAt ? `valid until ${shortTime(created.info.expiresAt)}` : "never expires";
        step(
          ctx,
          `Created the token ${name} (${until}). It follows, shown only now: use it with \`micros login --token <token>\` or MICROS_ACCESS_TOKEN.`,
        );
        print(ctx, created.token);
      }
      return 0;
    }),
  );

  tokens
    .command("list")
    .description("list your access tokens (the tokens themselves are never shown again)")
    .option("--json", "print JSON for scripts")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { tokens: list } = await (await client(ctx)).listTokens();
        if (options.json) printJson(ctx, list);
        else {
          const rows = list.map((token) => [
            token.name,
            `${token.prefix}…`,
            shortTime(token.createdAt),
            token.lastUsedAt ? shortTime(token.lastUsedAt) : "never",
            expires(token),
          ]);
          for (const line of table(["NAME", "PREFIX", "CREATED", "LAST USED", "EXPIRES"], rows)) print(ctx, line);
        }
        return 0;
      }),
    );

  tokens
    .command("revoke")
    .description("revoke one of your access tokens: it stops working at once, everywhere")
    .argument("<name>", "the token's name, from `micros tokens list`")
    .action((name: string) =>
      run(async () => {
        await (await client(ctx)).revokeToken(name);
        print(ctx, `Revoked the token ${name}; it no longer opens anything.`);
        return 0;
      }),
    );
}
