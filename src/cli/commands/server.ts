import type { Command } from "commander";
import { parseDuration } from "../../shared/duration.js";
import { MicrosError } from "../../shared/errors.js";
import { type CliContext, print } from "../context.js";

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new MicrosError("ERR_VALIDATION", `${value} is not a duration; use e.g. 500ms, 30s, 10m.`);
  return ms;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new MicrosError("ERR_VALIDATION", `${value} is not a port number.`);
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new MicrosError("ERR_VALIDATION", `${value} is not a whole number above 0.`);
  return n;
}

function poolSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 16) {
    throw new MicrosError("ERR_VALIDATION", `${value} is not a whole number from 0 to 16.`);
  }
  return n;
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("server")
    .description("run the Micros platform: control API and gateway on one port")
    .option("--port <port>", "port to listen on (0 picks a free one)", port, 4000)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "where the database, releases and logs live", ".micros-data")
    .option("--domain <domain>", "micros answer at <subdomain>.<domain>:<port>", "localhost")
    .option("--idle-timeout <duration>", "stop an instance after this long without requests (default 60s)", duration)
    .option("--request-timeout <duration>", "how long a micro may take to answer a request (default 10s)", duration)
    .option(
      "--max-instances <count>",
      "most instances one micro runs at once; more start while each has 8 requests in flight (default: 2 per CPU core)",
      count,
    )
    .option("--python <path>", "the Python interpreter for Python micros (default /usr/bin/python3)")
    .option("--sandbox <kind>", "bubblewrap (default), or none: no isolation, for development only", "bubblewrap")
    .option(
      "--warm-pool <count>",
      "sandboxes kept started per runtime for first requests; 0 makes each on demand (default 2)",
      poolSize,
    )
    .option("--log-level <level>", "server log level: error, warn, info, debug", "info")
    .addHelpText(
      "after",
      "\nExample:\n  micros server --port 4000 --data-dir /var/lib/micros --domain micros.example.com",
    )
    .action(
      (options: {
        port: number;
        host: string;
        dataDir: string;
        domain: string;
        idleTimeout?: number;
        requestTimeout?: number;
        maxInstances?: number;
        sandbox: string;
        warmPool?: number;
        python?: string;
        logLevel: string;
      }) =>
        run(async () => {
          const { serverConfigSchema } = await import("../../server/config.js");
          const { startServer } = await import("../../server/server.js");
          const config = serverConfigSchema.parse({
            port: options.port,
            host: options.host,
            dataDir: options.dataDir,
            domain: options.domain,
            logLevel: options.logLevel,
            sandbox: options.sandbox,
            ...(options.python ? { python: options.python } : {}),
            ...(options.warmPool !== undefined ? { warmPool: options.warmPool } : {}),
            ...(options.idleTimeout ? { idleTimeoutMs: options.idleTimeout } : {}),
            ...(options.requestTimeout ? { requestTimeoutMs: options.requestTimeout } : {}),
            ...(options.maxInstances ? { maxInstances: options.maxInstances } : {}),
          });
          const server = await startServer(config);
          const host = `http://localhost:${server.port}`;
          print(ctx, `Micros is listening on ${server.url} (data in ${server.dataDir}).`);
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
