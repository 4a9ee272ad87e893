import type { WriteStream } from "node:tty";
import type { DeployEvent } from "../shared/api.js";
import { formatBytes } from "../shared/format.js";
import type { CliContext } from "./context.js";
import type { DeployProgress } from "./deploy-request.js";

const BAR = 24;

/**
 * Shows a deploy as it goes, on stderr: on a terminal, a bar for the upload
 * and a live line with the install's latest output; elsewhere (logs, CI), one
 * plain line per step.
 */
export function deployProgress(ctx: CliContext): DeployProgress & { finish(): void } {
  const terminal = (ctx.stderr as Partial<WriteStream>).isTTY === true;
  const columns = (ctx.stderr as Partial<WriteStream>).columns ?? 80;
  let live = false;
  const show = (text: string) => {
    ctx.stderr.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
    live = true;
  };
  const line = (text: string) => {
    if (live) ctx.stderr.write("\r\x1b[2K");
    live = false;
    ctx.stderr.write(`${text}\n`);
  };
  let installStarted = 0;
  return {
    uploaded(sent, total) {
      if (!terminal) return;
      const filled = Math.round((sent / total) * BAR);
      show(`Uploading [${"#".repeat(filled)}${".".repeat(BAR - filled)}] ${formatBytes(sent)} / ${formatBytes(total)}`);
    },
    event(event: DeployEvent) {
      if (event.event === "received") line(`Uploaded ${formatBytes(event.bytes)}; checking and unpacking...`);
      else if (event.event === "installing") {
        installStarted = Date.now();
        line("Installing dependencies on the server...");
      } else if (event.event === "output" && terminal) {
        const last = event.text.trim().split("\n").at(-1) ?? "";
        const seconds = Math.round((Date.now() - installStarted) / 1000);
        if (last) show(`  ${seconds} s  ${last}`);
      }
    },
    finish() {
      if (live) ctx.stderr.write("\r\x1b[2K");
      live = false;
    },
  };
}
