import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { MicrosError } from "../../shared/errors.js";
import { type CliContext, print, printJson, step } from "../context.js";
import { parseEnvFile } from "../env-file.js";
import { writeMicro } from "../local-state.js";
import { microSession } from "../session.js";

/** A positive number, or `default` to go back to the server's default. */
function limit(flag: string) {
  return (value: string): number | "default" => {
    if (value === "default") return value;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) {
      throw new MicrosError("ERR_VALIDATION", `${flag} takes a positive number or \`default\`, not ${value}.`);
    }
    return n;
  };
}

interface UpdateOptions {
  name?: string;
  runtime?: string;
  env?: string;
  memory?: number | "default";
  timeout?: number | "default";
  maxBody?: number | "default";
  json?: boolean;
}

/** What the API takes: a number sets a limit, null goes back to the default, absent leaves it. */
function change(value: number | "default" | undefined): number | null | undefined {
  return value === "default" ? null : value;
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("update")
    .description("change a micro's name, runtime, environment variables or limits (up to the server's maximum)")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-n, --name <name>", "a new name (the endpoint stays the same)")
    .option("-r, --runtime <runtime>", "another version of the micro's language, e.g. nodejs20")
    .option("-e, --env <file>", "set the environment from a dotenv file; keys not in it are removed")
    .option("--memory <MB>", "memory for each instance, in MB (or `default`)", limit("--memory"))
    .option("--timeout <seconds>", "how long a request may take to start answering (or `default`)", limit("--timeout"))
    .option("--max-body <MB>", "largest request body accepted, in MB (or `default`)", limit("--max-body"))
    .option("--json", "print the micro's details as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  micros update -e .env\n  micros update --timeout 30\n  micros update --memory 1024 --max-body default\n\nThe platform sets DETA_PROJECT_KEY, DETA_PATH, DETA_RUNTIME and MICROS_* names itself; an env file may not.\nOther DETA_ names (DETA_BASE_HOST, DETA_DRIVE_HOST, ...) are yours.",
    )
    .action((path: string | undefined, options: UpdateOptions) =>
      run(async () => {
        const limits = {
          ...(options.memory !== undefined ? { memoryMb: change(options.memory) } : {}),
          ...(options.timeout !== undefined ? { timeoutSeconds: change(options.timeout) } : {}),
          ...(options.maxBody !== undefined ? { requestBodyMb: change(options.maxBody) } : {}),
        };
        const settings = {
          ...(options.name !== undefined ? { name: options.name } : {}),
          ...(options.runtime !== undefined ? { runtime: options.runtime } : {}),
        };
        if (Object.keys(limits).length === 0 && Object.keys(settings).length === 0 && options.env === undefined) {
          throw new MicrosError(
            "ERR_VALIDATION",
            "Nothing to update: give -n, -r, -e <file>, --memory, --timeout or --max-body. See `micros update --help`.",
          );
        }
        // Read and check the file before anything changes on the server.
        const vars =
          options.env === undefined
            ? undefined
            : parseEnvFile(await readEnvFile(resolve(ctx.cwd, options.env)), options.env);
        const { api, dir, micro: local } = await microSession(ctx, path);
        if (Object.keys(settings).length > 0) {
          const { micro } = await api.updateMicro(local.id, settings);
          await writeMicro(dir, { ...local, name: micro.name });
          step(ctx, `Name ${micro.name}, runtime ${micro.runtime}.`);
        }
        if (vars) {
          const { envVars } = await api.replaceEnv(local.id, vars);
          step(ctx, `Environment: ${envVars.length ? envVars.join(", ") : "none"} (values are never shown).`);
        }
        if (Object.keys(limits).length > 0) {
          const { micro } = await api.updateLimits(local.id, limits);
          const { memoryMb, timeoutSeconds, requestBodyMb } = micro.limits;
          step(
            ctx,
            `Limits: memory ${memoryMb} MB, request timeout ${timeoutSeconds} s, request body ${requestBodyMb} MB.`,
          );
        }
        const { micro } = await api.getMicro(local.id);
        if (options.json) printJson(ctx, micro);
        else print(ctx, `Updated ${micro.name}.`);
        return 0;
      }),
    );
}

async function readEnvFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new MicrosError("ERR_VALIDATION", `Cannot read the env file ${file}: ${(err as Error).message}`);
  }
}
