import { type Command, Option } from "commander";
import { loadServerConfig, type SettingKey, settingList } from "../../server/config.js";
import { redactUrl } from "../../server/store/database-url.js";
import { type CliContext, print } from "../context.js";

const DESCRIPTION =
  "run the Micros platform: control API and gateway on one port. Every option can also be set by its environment " +
  "variable (shown with it) or in a JSON file given with --config or MICROS_CONFIG, whose keys are the options " +
  'without --, such as {"port": 4000, "data-dir": "/var/lib/micros"}; a flag wins over a variable, a variable over ' +
  "the file. Relative paths are from the current folder.";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const command = program
    .command("server")
    .description(DESCRIPTION)
    .option("--config <file>", "a JSON file of settings (MICROS_CONFIG)");
  // One option per setting, from its definition: the flag, its placeholder, its help, default and variable.
  const attributes: [SettingKey, string][] = [];
  for (const [key, setting] of settingList()) {
    const option = new Option(
      `--${setting.flag} ${setting.type.arg}`,
      `${setting.help} (default ${setting.defaultText}${setting.type.range ? `, ${setting.type.range}` : ""}; ${setting.env})`,
    );
    command.addOption(option);
    attributes.push([key, option.attributeName()]);
  }
  command
    .addHelpText(
      "after",
      "\nExample:\n  micros server --port 4000 --data-dir /var/lib/micros --domain micros.example.com",
    )
    .action((options: Record<string, string | undefined>) =>
      run(async () => {
        const flags: Partial<Record<SettingKey, string>> = {};
        for (const [key, attribute] of attributes) {
          const value = options[attribute];
          if (value !== undefined) flags[key] = value;
        }
        const config = await loadServerConfig({ flags, env: ctx.env, cwd: ctx.cwd, configFile: options.config });
        const { startServer } = await import("../../server/server.js");
        const server = await startServer(config);
        const host = `http://localhost:${server.port}`;
        print(ctx, `Micros is listening on ${server.url} (data in ${server.dataDir}).`);
        if (config.database) print(ctx, `Platform state is kept in PostgreSQL at ${redactUrl(config.database)}.`);
        if (server.httpsUrl) print(ctx, `HTTPS is served on ${server.httpsUrl}.`);
        if (server.executor === "process") {
          ctx.stderr.write(
            "WARNING: --sandbox none: micros run as plain processes with the server's user, not isolated from each other or from this machine. Use it for development only.\n",
          );
        } else {
          print(ctx, "Each instance runs sandboxed (bubblewrap, cgroups, its own user).");
        }
        if (server.adminTokenCreated)
          print(ctx, `Created the admin access token in ${server.adminTokenFile} (mode 0600).`);
        print(ctx, `Log in with: micros login --host ${host} --token "$(cat ${server.adminTokenFile})"`);
        print(ctx, `Micros answer at http://<name>.${config.domain}:${server.port}/`);
        print(ctx, `The dashboard is at ${host}/ (sign in with an access token).`);
        if (config.metricsToken) print(ctx, `Metrics at ${host}/metrics, with the metrics token as a Bearer token.`);
        if (server.metricsUrl) print(ctx, `Metrics at ${server.metricsUrl} (no auth).`);
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            print(ctx, `Received ${signal}: stopping instances and shutting down...`);
            server.close().then(resolve, resolve);
          };
          process.once("SIGINT", () => stop("SIGINT"));
          process.once("SIGTERM", () => stop("SIGTERM"));
        });
        print(ctx, "Stopped.");
        return 0;
      }),
    );
}
