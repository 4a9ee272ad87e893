import type { Command } from "commander";
import { MicrosError } from "../../shared/errors.js";
import { ApiClient } from "../api-client.js";
import { type CliContext, print, report } from "../context.js";
import { removeCredentials, saveCredentials } from "../credentials.js";
import { client } from "../session.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("login")
    .description("store the server address and access token for later commands")
    .option("--host <url>", "the server, e.g. http://localhost:4000 (default: MICROS_HOST)")
    .option("--token <token>", "an access token (default: MICROS_ACCESS_TOKEN)")
    .option("--json", "print JSON for scripts")
    .action((options: { host?: string; token?: string; json?: boolean }) =>
      run(async () => {
        const host = (options.host ?? ctx.env.MICROS_HOST ?? "").replace(/\/+$/, "");
        const token = options.token ?? ctx.env.MICROS_ACCESS_TOKEN ?? "";
        if (!host || !token) {
          throw new MicrosError(
            "ERR_VALIDATION",
            "Give both --host and --token (or set MICROS_HOST and MICROS_ACCESS_TOKEN). The admin token is in <data-dir>/admin-token.",
          );
        }
        const { user } = await new ApiClient({ host, token }).whoami();
        const file = await saveCredentials(ctx, { host, token });
        report(
          ctx,
          options.json,
          { host, user, credentials: file },
          `Logged in to ${host} as ${user.name}. Credentials saved in ${file}.`,
        );
        return 0;
      }),
    );

  program
    .command("logout")
    .description("forget the stored credentials")
    .action(() =>
      run(async () => {
        await removeCredentials(ctx);
        print(ctx, "Logged out.");
        return 0;
      }),
    );

  program
    .command("whoami")
    .description("show who the stored credentials log in as")
    .option("--json", "print JSON for scripts")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const api = await client(ctx);
        const { user } = await api.whoami();
        report(
          ctx,
          options.json,
          { host: api.host, user },
          `${user.name} on ${api.host}${user.isAdmin ? " (admin)" : ""}`,
        );
        return 0;
      }),
    );
}
