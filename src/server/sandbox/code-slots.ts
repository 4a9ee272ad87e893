import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";
import { unmountUnder } from "./unmount.js";

export interface CodeSlotTools {
  mount: string;
  umount: string;
}

/** One sandbox's empty /app, to be filled with a release once the sandbox is given to a micro. */
export interface CodeSlot {
  /** The host folder the sandbox binds at /app. */
  readonly dir: string;
  /** Makes `appDir` appear, read-only, at /app inside the running sandbox. */
  fill(appDir: string): Promise<void>;
  release(): Promise<void>;
}

// Bind to a private stage first and make it read-only there: a bind made read-only in one step arrives
// read-write in the sandbox. Moving it into the slot then propagates it, flags and all, into the sandbox.
const FILL = '"$1" --bind "$2" "$3" && "$1" -o remount,bind,ro,nosuid,nodev "$3" && "$1" --move "$3" "$4"';

/**
 * Slots let a sandbox start before anyone knows which code it will run. Their
 * parent is a shared mount, so a mount made under it on the host later
 * propagates into every sandbox that bound a slot from it.
 */
export class CodeSlots {
  private constructor(
    private readonly root: string,
    private readonly tools: CodeSlotTools,
  ) {}

  static async open(root: string, tools: CodeSlotTools): Promise<CodeSlots> {
    const slots = new CodeSlots(root, tools);
    // Whatever a crashed server left: its slots, still filled, and the shared mount itself.
    await unmountUnder(root, tools.umount);
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true, mode: 0o711 });
    // The root mount is usually private: make a mount of our own that propagates.
    await slots.run(tools.mount, ["--bind", root, root]);
    await slots.run(tools.mount, ["--make-shared", root]);
    return slots;
  }

  /** A slot, and a private folder (outside the shared mount) to stage its code in. */
  async create(name: string, stage: string): Promise<CodeSlot> {
    const dir = join(this.root, name);
    await mkdir(dir, { mode: 0o755 });
    await mkdir(stage, { recursive: true, mode: 0o700 });
    let filled = false;
    const unmount = (point: string) =>
      runCommand(this.tools.umount, ["-l", point], { cwd: "/", env: {}, timeoutMs: 30_000 });
    return {
      dir,
      fill: async (appDir) => {
        filled = true;
        await this.run("/bin/sh", ["-c", FILL, "micros-fill", this.tools.mount, appDir, stage, dir]);
      },
      release: async () => {
        if (filled) {
          await unmount(dir);
          // Still there only when filling failed halfway.
          await unmount(stage);
        }
        await rm(dir, { recursive: true, force: true });
        await rm(stage, { recursive: true, force: true });
      },
    };
  }

  async close(): Promise<void> {
    await runCommand(this.tools.umount, ["-l", this.root], { cwd: "/", env: {}, timeoutMs: 30_000 });
    await rm(this.root, { recursive: true, force: true });
  }

  private async run(file: string, args: string[]): Promise<void> {
    const result = await runCommand(file, args, {
      cwd: "/",
      env: {},
      timeoutMs: 30_000,
    });
    if (result.exitCode !== 0) {
      throw new MicrosError(
        "ERR_SANDBOX_UNAVAILABLE",
        `Could not bind the micro's code into its sandbox: ${result.output.trim() || `${file} failed`}`,
      );
    }
  }
}
