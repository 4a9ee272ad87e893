import type { Command } from "commander";
import { confirm } from "../confirm.js";
import { type CliContext, print, printJson, report, step } from "../context.js";
import { client } from "../session.js";
import { shortTime, table } from "../table.js";
import { expiresOption } from "./tokens.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const users = program
    .command("users")
    .description("manage the server's users (admin only)")
    .addHelpText("after", "\nExamples:\n  micros users create alice\n  micros users list\n  micros users delete alice");

  users
    .command("create")
    .description("create a user; prints their first access token, shown only this once")
    .argument("<name>", "the user's name")
    .option("--admin", "make the user an admin, who manages users too")
    .option("--json", "print JSON for scripts")
    .action((name: string, options: { admin?: boolean; json?: boolean }) =>
      run(async () => {
        const api = await client(ctx);
        const created = await api.createUser(name, options.admin ?? false);
        if (options.json) printJson(ctx, created);
        else {
          step(
            ctx,
            `Created ${created.user.isAdmin ? "the admin" : "the user"} ${name}. Their access token follows, shown only now; they log in with \`micros login --host ${api.host} --token <token>\`.`,
          );
          print(ctx, created.token);
        }
        return 0;
      }),
    );

  users
    .command("list")
    .description("list the server's users")
    .option("--json", "print JSON for scripts")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { users: list } = await (await client(ctx)).listUsers();
        if (options.json) printJson(ctx, list);
        else {
          const rows = list.map((user) => [user.name, user.isAdmin ? "yes" : "no", shortTime(user.createdAt)]);
          for (const line of table(["NAME", "ADMIN", "CREATED"], rows)) print(ctx, line);
        }
        return 0;
      }),
    );

  users
    .command("delete")
    .description("delete a user with their projects, micros (stopped at once) and tokens")
    .argument("<name>", "the user's name")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print JSON for scripts")
    .action((name: string, options: { yes?: boolean; json?: boolean }) =>
      run(async () => {
        const question = `Delete the user ${name} with all their projects, micros and tokens?`;
        if (!options.yes && !(await confirm(ctx, question, "--yes"))) {
          print(ctx, "Nothing was deleted.");
          return 1;
        }
        const deleted = await (await client(ctx)).deleteUser(name);
        const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
        report(
          ctx,
          options.json,
          deleted,
          `Deleted the user ${name} with ${plural(deleted.projects, "project")} and ${plural(deleted.micros, "micro")}; their tokens no longer work.`,
        );
        return 0;
      }),
    );

  expiresOption(
    users
      .command("token")
      .description("issue an access token to another user (one whose tokens expired or were lost); shown once")
      .argument("<user>", "the user's name")
      .option("-n, --name <name>", "a name to tell the token by", "issued"),
  ).action((user: string, options: { name: string; expires?: string }) =>
    run(async () => {
      const { token, info } = await (await client(ctx)).issueUserToken(user, options);
      step(
        ctx,
        `Issued the token ${info.name} to ${user}${info.expiresAt ? `, valid until ${shortTime(info.expiresAt)}` : ""}. It follows, shown only now.`,
      );
      print(ctx, token);
      return 0;
    }),
  );
}
