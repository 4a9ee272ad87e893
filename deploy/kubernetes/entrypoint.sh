#!/bin/sh
# Starts `micros server` in the container; every setting comes from MICROS_* variables (statefulset.yaml).
#
# On cgroup v2 the container's cgroup is the root of what the container sees at /sys/fs/cgroup, and it holds the
# container's processes. The kernel lets a cgroup that holds processes give no controller to its children, so the
# server could not give its sandboxes their memory, pids and cpu limits. The processes move to a child cgroup of
# their own first (as Docker-in-Docker does); the server then turns the controllers on for its sandboxes' cgroups.
# Only when this shell is in that cgroup, so a host's root cgroup is never touched. On cgroup v1 nothing changes.
set -eu
cgroup=/sys/fs/cgroup
if [ -f "$cgroup/cgroup.controllers" ] && grep -qx "$$" "$cgroup/cgroup.procs"; then
  mkdir -p "$cgroup/init"
  # One pid per write, as cgroup.procs takes them; a process that ended in between is no error.
  xargs -r -n1 < "$cgroup/cgroup.procs" > "$cgroup/init/cgroup.procs" || true
fi
exec node /opt/micros/bin/micros.js server "$@"
