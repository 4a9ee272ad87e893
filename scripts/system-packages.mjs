#!/usr/bin/env node
/**
 * Installs the Debian packages the platform needs on this machine, when some are missing and this is a Debian
 * or Ubuntu machine run as root, saying what it installs; elsewhere it says what is missing and how to get it.
 * Run before `npm start` and `npm test`, so a fresh machine needs no setup of its own.
 */
import { spawnSync } from "node:child_process";

/** What each package is for, so the reader knows why it is asked for. */
const PACKAGES = {
  bubblewrap: "the sandbox",
  "util-linux": "the sandbox (setpriv, nsenter, mount)",
  iproute2: "each sandbox's network",
  nftables: "each sandbox's network filter",
  e2fsprogs: "each sandbox's own disk",
  openssl: "the certificate micros reach Base and Drive with",
  "ca-certificates": "the CAs micros trust, beside the platform's",
  python3: "Python micros",
  "python3-venv": "Python micros' virtual environments",
  "python3-uvicorn": "serving Python micros",
  "python3-dev": "Python packages that compile C at install",
  "g++": "npm packages that compile native addons at install",
  make: "npm packages that compile native addons at install",
};

function missing() {
  const names = Object.keys(PACKAGES);
  // dpkg-query's own format language, not a template string.
  const format = ["$", "{Package} $", "{db:Status-Status}\\n"].join("");
  const query = spawnSync("dpkg-query", ["-W", "-f", format, ...names], {
    encoding: "utf8",
  });
  if (query.error) return undefined;
  const installed = new Set(
    query.stdout
      .split("\n")
      .filter((line) => line.endsWith(" installed"))
      .map((line) => line.split(" ")[0]),
  );
  return names.filter((name) => !installed.has(name));
}

const absent = process.platform === "linux" ? missing() : undefined;
if (absent === undefined || absent.length === 0) process.exit(0);
const list = absent.map((name) => `  ${name} (${PACKAGES[name]})`).join("\n");
if (process.getuid?.() !== 0) {
  process.stderr.write(
    `Micros needs these Debian packages, which are not installed:\n${list}\nInstall them as root: apt-get install ${absent.join(" ")}\n`,
  );
  process.exit(0);
}
process.stdout.write(`Installing the Debian packages Micros needs (apt-get install):\n${list}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
for (const args of [
  ["update", "-qq"],
  ["install", "-y", "-qq", "--no-install-recommends", ...absent],
]) {
  const step = spawnSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env });
  if (step.status !== 0) {
    process.stderr.write(`apt-get ${args[0]} failed; install the packages above by hand and start again.\n`);
    process.exit(1);
  }
}
process.stdout.write("Installed.\n");
