import type { Command } from "commander";
import type { RequestView } from "../../shared/api.js";
import type { ApiClient } from "../api-client.js";
import { type CliContext, print, printJson, report, step } from "../context.js";
import { microSession, pathOrOption } from "../session.js";

const PHASES = [
  ["sandboxMs", "sandbox"],
  ["codeMs", "code"],
  ["loadMs", "app load"],
  ["firstByteMs", "first byte"],
] as const;

/** For a cold start, where its time went: "sandbox 31 ms, code 2 ms, app load 95 ms, first byte 4 ms". */
function coldStart(request: RequestView): string {
  if (!request.cold || !request.timings) return "";
  const times = request.timings;
  const parts = PHASES.flatMap(([key, name]) => (times[key] === undefined ? [] : [`${name} ${times[key]} ms`]));
  return `  (${parts.join(", ")})`;
}

function row(request: RequestView): string {
  const cold = request.cold ? "cold" : "warm";
  return `${String(request.id).padStart(5)}  ${request.time}  ${request.method.padEnd(6)} ${request.status}  ${`${request.durationMs} ms`.padStart(10)}  ${cold}  ${request.path}${coldStart(request)}`;
}

/** The latest requests, newest last. */
async function listRequests(
  ctx: CliContext,
  api: ApiClient,
  microId: string,
  limit: string,
  json: boolean | undefined,
): Promise<void> {
  const { requests } = await api.listRequests(microId, Number(limit));
  if (json) printJson(ctx, requests);
  else if (requests.length === 0) print(ctx, "No requests recorded yet.");
  else for (const request of requests) print(ctx, row(request));
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const visor = program
    .command("visor")
    .description("the requests through the gateway, newest last: status, time, cold or warm start")
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("--limit <n>", "how many requests", "50")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { limit: string; json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, path);
        await listRequests(ctx, api, micro.id, options.limit, options.json);
        return 0;
      }),
    );

  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    visor
      .command(name)
      .description(enabled ? "also record request and response bodies (up to 64 KB each)" : "stop recording bodies")
      .argument("[path]", "the micro's folder (default: current folder)")
      .option("-p, --path <path>", "the micro's folder, as [path] gives it")
      .action((path: string | undefined, options: { path?: string }) =>
        run(async () => {
          const { api, micro } = await microSession(ctx, pathOrOption(path, options.path));
          await api.setVisor(micro.id, enabled);
          print(ctx, `The visor ${enabled ? "records" : "no longer records"} bodies of ${micro.name}.`);
          return 0;
        }),
      );
  }

  visor
    .command("open")
    .description(
      "what Deta's visor page showed: Micros has no web page for it yet, so the latest requests are printed here",
    )
    .argument("[path]", "the micro's folder (default: current folder)")
    .option("-p, --path <path>", "the micro's folder, as [path] gives it")
    .option("--limit <n>", "how many requests", "20")
    .option("--json", "print JSON for scripts")
    .action((path: string | undefined, options: { path?: string; limit: string; json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, pathOrOption(path, options.path));
        step(
          ctx,
          `Micros has no visor page to open in a browser yet; the latest requests to ${micro.name} are below. \`micros visor show <id>\` shows one in full, \`micros visor replay <id>\` sends it again.`,
        );
        await listRequests(ctx, api, micro.id, options.limit, options.json);
        return 0;
      }),
    );

  visor
    .command("show")
    .description("one recorded request, with its headers and bodies when they were recorded")
    .argument("<id>", "the request's id, from `micros visor`")
    .option("-p, --path <path>", "the micro's folder (default: current folder)")
    .action((id: string, options: { path?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        printJson(ctx, (await api.getRequest(micro.id, id)).request);
        return 0;
      }),
    );

  visor
    .command("replay")
    .description("send a recorded request to the micro again and print its answer now")
    .argument("<id>", "the request's id, from `micros visor`")
    .option("-p, --path <path>", "the micro's folder (default: current folder)")
    .option("--json", "print JSON (body in base64) for scripts")
    .action((id: string, options: { path?: string; json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        const answer = await api.replayRequest(micro.id, id);
        report(ctx, options.json, answer, `${answer.status}\n${Buffer.from(answer.body, "base64").toString("utf8")}`);
        return 0;
      }),
    );
}
