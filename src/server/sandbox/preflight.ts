import { access, constants } from "node:fs/promises";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";
import { baseMounts } from "./mounts.js";

export interface SandboxTools {
  bwrap: string;
  setpriv: string;
  nsenter: string;
  ip: string;
  nft: string;
  mkfs: string;
  mount: string;
  umount: string;
}

const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

async function find(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const file = join(dir, name);
    if (
      await access(file, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return file;
  }
  return undefined;
}

const HOW =
  "Install it (Debian/Ubuntu: apt-get install bubblewrap util-linux iproute2 nftables e2fsprogs), or start with --sandbox none for development only.";

/**
 * Checks, before the server takes a request, that it can sandbox instances:
 * root (to create cgroups and switch to per-micro users), bubblewrap and
 * setpriv, and unprivileged user namespaces (some distributions restrict them).
 */
export async function checkSandbox(trialUid: number, mustReach: string[]): Promise<SandboxTools> {
  if (process.getuid?.() !== 0) {
    throw new MicrosError(
      "ERR_SANDBOX_UNAVAILABLE",
      "The sandbox needs the server to run as root: it creates cgroups and runs each micro as its own user. Run as root, or start with --sandbox none for development only.",
    );
  }
  const bwrap = await find("bwrap");
  if (!bwrap) throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `bubblewrap (bwrap) is not installed. ${HOW}`);
  const setpriv = await find("setpriv");
  if (!setpriv) throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `setpriv (util-linux) is not installed. ${HOW}`);
  const nsenter = await find("nsenter");
  if (!nsenter) throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `nsenter (util-linux) is not installed. ${HOW}`);
  const ip = await find("ip");
  if (!ip) throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `ip (iproute2) is not installed. ${HOW}`);
  const nft = await find("nft");
  if (!nft) throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `nft (nftables) is not installed. ${HOW}`);
  const trial = await runCommand(
    setpriv,
    [
      `--reuid=${trialUid}`,
      `--regid=${trialUid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      bwrap,
      "--unshare-all",
      "--unshare-user",
      "--disable-userns",
      "--die-with-parent",
      ...baseMounts(),
      ...mustReach.flatMap((path) => ["--ro-bind", path, path]),
      "--",
      "/usr/bin/true",
    ],
    { cwd: "/", env: { PATH: "/usr/bin:/bin" }, timeoutMs: 10_000 },
  );
  if (trial.exitCode !== 0) {
    throw new MicrosError(
      "ERR_SANDBOX_UNAVAILABLE",
      `bubblewrap could not create a sandbox here: ${trial.output.trim() || `exit code ${trial.exitCode}`}. It needs unprivileged user namespaces, and every folder above the data dir (${mustReach.join(", ")}) must be searchable by other users (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 23.10+ an AppArmor profile for bwrap). Or start with --sandbox none for development only.`,
    );
  }
  const mkfs = await find("mkfs.ext4");
  if (!mkfs) throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `mkfs.ext4 (e2fsprogs) is not installed. ${HOW}`);
  const mount = await find("mount");
  const umount = await find("umount");
  if (!mount || !umount)
    throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `mount (util-linux) is not installed. ${HOW}`);
  if (
    !(await access("/dev/loop-control").then(
      () => true,
      () => false,
    ))
  ) {
    throw new MicrosError(
      "ERR_SANDBOX_UNAVAILABLE",
      "Loop devices are not available (/dev/loop-control is missing): each instance's /tmp is a loop-mounted file. Load the loop module (modprobe loop), or start with --sandbox none for development only.",
    );
  }
  return { bwrap, setpriv, nsenter, ip, nft, mkfs, mount, umount };
}
