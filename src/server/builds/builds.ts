import type { ArchiveLimits } from "../../../runtimes/build/protocol.mjs";

/**
 * The seam between the deployer and wherever a tenant's upload is unpacked
 * and its dependencies installed: a build sandbox (the default) or, with
 * `--sandbox none`, plain processes for development. The deployer never runs
 * anything on the tenant's files itself; it writes the upload in, asks for the
 * steps and reads the finished tree back.
 */
export interface Builds {
  /** Prepares a build for one deploy: its disk, its limits. */
  open(owner: BuildOwner, signal: AbortSignal): Promise<Build>;
}

/** Whose build it is: builds of one owner share a package cache that no other owner's build can reach. */
export interface BuildOwner {
  id: string;
  /** A small number of the owner's own (see Users.serial): a sandbox picks the owner's build user from it. */
  serial: number;
}

export interface BuildLimits {
  memoryBytes: number;
  pids: number;
  /** cgroup v2 scale, 1-10000. */
  cpuWeight: number;
  /** The build's own disk: code, installed dependencies, temporary files. */
  diskBytes: number;
  /** Each owner's package caches. */
  cacheBytes: number;
  /** The whole build, every step together. */
  timeoutMs: number;
}

export interface Build {
  /** Host path the upload is written to, before `unpack`. */
  readonly uploadFile: string;
  /** Host path of the folder the steps build the release in; read it back only between and after steps. */
  readonly appDir: string;
  /** Checks and unpacks the upload into the app folder, completing an upload of changes from `releasesDir`. */
  unpack(limits: ArchiveLimits, releasesDir: string | undefined): Promise<Unpacked>;
  /** Installs the app's dependencies in the app folder; the tool's output goes to `onOutput` as it comes. */
  install(
    runtime: { language: "node" | "python"; python: string },
    onOutput: (text: string) => void,
  ): Promise<Installed>;
  /** Ends whatever still runs and removes everything the build made. Idempotent. */
  close(): Promise<void>;
}

export interface Unpacked {
  /** Entries in the upload. */
  uploaded: number;
  /** The release an upload of changes builds on; not yet checked against the micro's releases. */
  base: string | null;
}

export interface Installed {
  kind: "npm ci" | "npm install" | "pip install" | "none";
  output: string;
}
