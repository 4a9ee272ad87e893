/**
 * The start of every sandboxed process, instance or build: a shell joins the
 * sandbox's cgroups before anything of it runs, nsenter joins its network
 * namespace (when it has one), setpriv drops to its host user with no
 * capabilities, and bubblewrap builds the sandbox.
 */

// Joins the cgroups, then becomes the sandbox.
const ENTER_CGROUPS = 'for f in $CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; unset CGROUP_PROCS; exec "$@"';

export interface LaunchTools {
  nsenter: string;
  setpriv: string;
  bwrap: string;
}

/** `/bin/sh` arguments and environment that start `bwrapArgs` as `uid` inside the cgroups (and network namespace). */
export function sandboxCommand(
  tools: LaunchTools,
  spec: { uid: number; procsFiles: string[]; netns?: string; bwrapArgs: string[] },
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const privileges = [
    `--reuid=${spec.uid}`,
    `--regid=${spec.uid}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
  ];
  const chain = [
    ...(spec.netns ? [tools.nsenter, `--net=${spec.netns}`] : []),
    tools.setpriv,
    ...privileges,
    tools.bwrap,
    ...spec.bwrapArgs,
  ];
  return {
    file: "/bin/sh",
    args: ["-c", ENTER_CGROUPS, "micros-sandbox", ...chain],
    env: { CGROUP_PROCS: spec.procsFiles.join(" "), PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  };
}
