#!/bin/sh
# Starts a Celery worker in its container. The container has a private cgroup
# namespace whose tree Docker mounts read-only: remount it writable, move this
# container's processes into a leaf group (cgroup v2 lets a group hand
# controllers to its children only when it holds no process itself), give
# the sandboxes the memory, pids and cpu controllers under /sandboxes, and
# fail if any step fails: the executor refuses to run without its cgroups.
set -eu
mount -o remount,rw /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/worker /sys/fs/cgroup/sandboxes
for pid in $(cat /sys/fs/cgroup/cgroup.procs); do
    echo "$pid" > /sys/fs/cgroup/worker/cgroup.procs 2>/dev/null || true
done
echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control
export PLAYGROUND_CGROUP=v2 PLAYGROUND_CGROUP_PARENT=/sandboxes
exec celery -A playground worker --loglevel INFO "$@"
