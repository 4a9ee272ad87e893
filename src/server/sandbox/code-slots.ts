import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";
import { type MountTools, mountReadOnlyView, unmount } from "./host-mounts.js";
import { unmountUnder } from "./unmount.js";

/** One sandbox's empty /app, to be filled with a release once the sandbox is given to a micro. */
export interface CodeSlot {
  /** The host folder the sandbox binds at /app. */
  readonly dir: string;
  /** Makes `appDir` appear, read-only, at /app inside the running sandbox. */
  fill(appDir: string): Promise<void>;
  release(): Promise<void>;
}

/**
 * Slots let a sandbox start before anyone knows which code it will run. They
 * live on a tmpfs of their own (root's only), made a shared mount, and each is
 * bound into its sandbox's own folder: a mount made on the slot later, on the
 * host, propagates into the running sandbox. That mount is a read-only view of
 * the release (an overlay), arriving read-only in one step, and naming neither
 * the data dir nor the release in the sandbox's mount table.
 */
export class CodeSlots {
  private constructor(
    private readonly root: string,
    private readonly tools: MountTools,
  ) {}

  static async open(root: string, tools: MountTools): Promise<CodeSlots> {
    const slots = new CodeSlots(root, tools);
    // Whatever a crashed server left: its slots, still filled, and the shared mount itself.
    await unmountUnder(root, tools.umount);
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true, mode: 0o700 });
    // Only empty folders and mount points live here.
    await slots.run(tools.mount, ["-t", "tmpfs", "-o", "size=1m,mode=0700", "--make-shared", "micros-slots", root]);
    return slots;
  }

  /**
   * A slot, bound at `at` in the sandbox's own folder; `empty` is an empty
   * folder that stays so while the slot is filled.
   */
  async create(name: string, at: string, empty: string): Promise<CodeSlot> {
    const slot = join(this.root, name);
    await mkdir(slot, { mode: 0o755 });
    await mkdir(at, { recursive: true, mode: 0o755 });
    let bound = false;
    let filled = false;
    const release = async () => {
      // The view first: unmounting it on the slot takes it out of the sandbox and the bind alike.
      if (filled) await unmount(this.tools, slot);
      if (bound) await unmount(this.tools, at);
      await rm(slot, { recursive: true, force: true });
    };
    try {
      await this.run(this.tools.mount, ["--bind", slot, at]);
      bound = true;
    } catch (err) {
      await release();
      throw err;
    }
    return {
      dir: at,
      fill: async (appDir) => {
        filled = true;
        await mountReadOnlyView(this.tools, appDir, slot, empty);
      },
      release,
    };
  }

  async close(): Promise<void> {
    await unmount(this.tools, this.root);
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
