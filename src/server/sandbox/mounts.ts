import { dirname } from "node:path";

/** Where things appear inside every sandbox. */
export const INSIDE = {
  app: "/app",
  runtime: "/opt/micros/runtime",
  run: "/run/micros",
  tmp: "/tmp",
} as const;

/** Host files a runtime needs, read-only; `-try` because not every distribution has each one. */
const ETC_FILES = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/localtime",
  // Where Debian's cc, c++ and python links lead: compilers in builds need them.
  "/etc/alternatives",
];

/**
 * The read-only root every sandbox shares: /usr with the usual links into it,
 * a few /etc files, own /proc and /dev, and nothing else of the host. The
 * Node binary is bound too when it lives outside /usr (nvm, /opt).
 */
export function baseMounts(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const link of ["bin", "lib", "lib64", "sbin"]) args.push("--symlink", `usr/${link}`, `/${link}`);
  for (const file of ETC_FILES) args.push("--ro-bind-try", file, file);
  const nodePrefix = dirname(dirname(process.execPath));
  if (!nodePrefix.startsWith("/usr")) args.push("--ro-bind", nodePrefix, nodePrefix);
  args.push("--proc", "/proc", "--dev", "/dev");
  return args;
}
