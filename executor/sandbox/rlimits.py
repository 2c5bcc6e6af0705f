"""Per-process limits: a backstop under the cgroup's limits for the whole run.

RLIMIT_CPU ends a lone spinning process a little after the stage's CPU limit
even if the supervisor's cgroup check were late; the cgroup sum is what
decides the status.
"""

from __future__ import annotations

import math
import resource

from executor.limits import Limits


def values(limits: Limits) -> dict[int, int]:
    cpu_seconds = math.ceil(limits.cpu_time_ms / 1000) + 1
    return {
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_FSIZE: limits.file_size_bytes,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_NPROC: limits.processes,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_MEMLOCK: 0,
        resource.RLIMIT_MSGQUEUE: 0,
    }


def settings(limits: Limits, per_process_memory: bool) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) for each limit; the hard CPU limit is a second
    later, so that SIGXCPU comes before SIGKILL."""
    chosen = values(limits)
    if per_process_memory:
        chosen[resource.RLIMIT_DATA] = limits.memory_bytes
    return [
        (which, value, value + 1 if which == resource.RLIMIT_CPU else value)
        for which, value in chosen.items()
    ]


def apply(limits: Limits, per_process_memory: bool = False) -> None:
    """Child side: set each limit."""
    for which, soft, hard in settings(limits, per_process_memory):
        resource.setrlimit(which, (soft, hard))
