import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ArchiveLimits, BuildJob } from "../../../runtimes/build/protocol.mjs";
import { newId } from "../store/ids.js";
import { registryEnv } from "./build-env.js";
import { BUILDER_DIR, BUILDER_FILE, installed, runBuilder, stepOutcome, unpacked } from "./builder-step.js";
import type { Build, BuildOwner, Builds, Installed, Unpacked } from "./builds.js";

/**
 * Builds as plain processes of the server's user, for `--sandbox none` (development on a machine without
 * the sandbox's tools): the same builder and steps, with only the time limit, and no isolation at all.
 */
export class ProcessBuilds implements Builds {
  constructor(
    private readonly options: {
      runDir: string;
      /** Each owner's package caches. */
      cachesDir: string;
      timeoutMs: number;
    },
  ) {}

  async open(owner: BuildOwner, signal: AbortSignal): Promise<Build> {
    const dir = join(this.options.runDir, "builds", `build-${newId(10)}`);
    for (const part of ["app", "in", "tmp", "home"]) await mkdir(join(dir, part), { recursive: true });
    const cache = join(this.options.cachesDir, owner.id);
    await mkdir(cache, { recursive: true });
    const deadline = Date.now() + this.options.timeoutMs;
    const { timeoutMs } = this.options;

    const run = async (job: BuildJob, onOutput?: (text: string) => void) => {
      const child = spawn(process.execPath, [join(BUILDER_DIR, BUILDER_FILE)], {
        cwd: join(dir, "app"),
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: join(dir, "home"),
          TMPDIR: join(dir, "tmp"),
          ...registryEnv(),
        },
        stdio: ["pipe", "pipe", "pipe", "pipe"],
        // Its own process group, so a timeout ends npm and whatever it started too.
        detached: true,
      });
      const kill = () => {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      };
      const end = await runBuilder(child, job, {
        timeLeftMs: deadline - Date.now(),
        signal,
        kill,
        ...(onOutput ? { onOutput } : {}),
      });
      kill();
      return end;
    };
    const noLimitHit = async () => undefined;

    return {
      uploadFile: join(dir, "in", "upload.tar.gz"),
      appDir: join(dir, "app"),
      async unpack(limits: ArchiveLimits, releasesDir: string | undefined): Promise<Unpacked> {
        const end = await run({
          step: "unpack",
          archive: join(dir, "in", "upload.tar.gz"),
          app: join(dir, "app"),
          releases: releasesDir ?? null,
          limits,
        });
        return unpacked(await stepOutcome("unpack", end, timeoutMs, noLimitHit));
      },
      async install(runtime, onOutput): Promise<Installed> {
        const end = await run(
          { step: "install", language: runtime.language, app: join(dir, "app"), cache, python: runtime.python },
          onOutput,
        );
        return installed(await stepOutcome("install", end, timeoutMs, noLimitHit), end.output);
      },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  }
}
