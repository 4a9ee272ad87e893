import type { Command } from "commander";
import { MicrosError } from "../../shared/errors.js";
import { type CliContext, print, printJson } from "../context.js";
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
    .description("change a micro's settings; limits go up to the server's maximum")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("--memory <MB>", "memory for each instance, in MB (or `default`)", limit("--memory"))
    .option("--timeout <seconds>", "how long a request may take to start answering (or `default`)", limit("--timeout"))
    .option("--max-body <MB>", "largest request body accepted, in MB (or `default`)", limit("--max-body"))
    .option("--json", "print the micro's details as JSON")
    .addHelpText("after", "\nExamples:\n  micros update --timeout 30\n  micros update --memory 1024 --max-body default")
    .action((path: string | undefined, options: UpdateOptions) =>
      run(async () => {
        const changes = {
          ...(options.memory !== undefined ? { memoryMb: change(options.memory) } : {}),
          ...(options.timeout !== undefined ? { timeoutSeconds: change(options.timeout) } : {}),
          ...(options.maxBody !== undefined ? { requestBodyMb: change(options.maxBody) } : {}),
        };
        if (Object.keys(changes).length === 0) {
          throw new MicrosError(
            "ERR_VALIDATION",
            "Nothing to update: give --memory, --timeout or --max-body. See `micros update --help`.",
          );
        }
        const { api, micro: local } = await microSession(ctx, path);
        const { micro } = await api.updateLimits(local.id, changes);
        if (options.json) printJson(ctx, micro);
        else {
          const { memoryMb, timeoutSeconds, requestBodyMb } = micro.limits;
          print(
            ctx,
            `Updated ${micro.name}: memory ${memoryMb} MB, request timeout ${timeoutSeconds} s, request body ${requestBodyMb} MB.`,
          );
        }
        return 0;
      }),
    );
}
