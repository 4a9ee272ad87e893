import type { MicroView } from "../shared/api.js";
import { type CliContext, print } from "./context.js";

/** The details of a micro as aligned `label: value` lines. */
export function printMicro(ctx: CliContext, micro: MicroView): void {
  const running = micro.instances.filter((instance) => instance.state !== "stopped");
  const rows: [string, string][] = [
    ["name", micro.name],
    ["id", micro.id],
    ["project", micro.project],
    ["runtime", micro.runtime],
    ["endpoint", micro.endpoint],
    ["domains", micro.domains.length ? micro.domains.map((domain) => domain.endpoint).join(", ") : "none"],
    [
      "release",
      micro.release
        ? `v${micro.release.version} (deployed ${micro.release.createdAt})`
        : "none yet: run `micros deploy`",
    ],
    ["env vars", micro.envVars.length ? micro.envVars.join(", ") : "none"],
    ["http auth", micro.httpAuth ? "enabled" : "disabled"],
    [
      "limits",
      `memory ${micro.limits.memoryMb} MB, request timeout ${micro.limits.timeoutSeconds} s, request body ${micro.limits.requestBodyMb} MB`,
    ],
    [
      "sandbox",
      micro.sandbox === "process"
        ? "NONE: the server runs micros unisolated (--sandbox none, for development only)"
        : micro.sandbox,
    ],
    [
      "instances",
      running.length
        ? running.map((instance) => `${instance.id} (${instance.state}, ${instance.release})`).join(", ")
        : "none running (asleep)",
    ],
  ];
  if (micro.cron) rows.push(["cron", `"${micro.cron.expression}" (UTC), next run at ${micro.cron.nextRun}`]);
  if (micro.startFailures) {
    const { count, lastError, retryAt } = micro.startFailures;
    rows.push([
      "failing",
      `the last ${count} start${count === 1 ? "" : "s"} failed (next try after ${retryAt}): ${lastError}`,
    ]);
  }
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  for (const [label, value] of rows) print(ctx, `${`${label}:`.padEnd(width)} ${value}`);
}
