#!/usr/bin/env bash
# Gives an ordinary user a cgroup subtree of its own, so that the playground
# can run as that user with full limits. Run as root:
#   scripts/delegate-cgroups.sh USER [GROUP-NAME]
# then run the site or the tests as USER with
#   PLAYGROUND_CGROUP_PARENT=/GROUP-NAME
set -euo pipefail
user=${1:?usage: $0 USER [GROUP-NAME]}
name=${2:-playground-delegated}
id "$user" >/dev/null

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    # cgroup v2: the group must hold no processes and pass the controllers on.
    group=/sys/fs/cgroup/$name
    mkdir -p "$group"
    echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control
    chown -R "$user" "$group"
else
    for controller in memory pids cpu cpuacct; do
        group=/sys/fs/cgroup/$controller/$name
        mkdir -p "$group"
        chown -R "$user" "$group"
    done
fi
echo "delegated /$name to $user: set PLAYGROUND_CGROUP_PARENT=/$name"
