"""Stage cgroups removed after their result is out.

A group stays busy for a moment while the kernel finishes tearing down its
last tasks (already killed). Rather than make the run's client wait for
that, the supervisor sends the result first and hands the group here; the
loop retries the removal on a timer, and a group still busy after
GIVE_UP_SECONDS is logged as an error (the next supervisor's sweep of stale
groups removes it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from executor.errors import SandboxError
from executor.sandbox import cgroups

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.005
GIVE_UP_SECONDS = 5.0


@dataclass
class _Pending:
    run_id: str
    cgroup: cgroups.Cgroup
    give_up_at: float


class Sweeper:
    def __init__(self) -> None:
        self.pending: list[_Pending] = []
        self.next_at = float("inf")

    def remove(self, run_id: str, cgroup: cgroups.Cgroup) -> None:
        """Remove at the end of the loop's turn, once the result has been
        sent; if the group is still busy then, soon after."""
        now = time.monotonic()
        self.pending.append(_Pending(run_id, cgroup, now + GIVE_UP_SECONDS))
        self.next_at = now

    def sweep(self) -> None:
        """Retry the groups that were busy, if their time has come."""
        now = time.monotonic()
        if now < self.next_at:
            return
        left = []
        for item in self.pending:
            if self._try(item.run_id, item.cgroup):
                continue
            if now >= item.give_up_at:
                log.error("run_id=%s cgroup not removed: still has tasks after "
                          "%.0fs", item.run_id, GIVE_UP_SECONDS)  # fmt: skip
                continue
            left.append(item)
        self.pending = left
        self.next_at = now + RETRY_SECONDS if left else float("inf")

    def finish(self) -> None:
        """The supervisor is stopping: wait for every group to go."""
        for item in self.pending:
            try:
                item.cgroup.remove()
            except (SandboxError, OSError) as exc:
                log.error("run_id=%s cgroup not removed: %s", item.run_id, exc)
        self.pending = []

    def _try(self, run_id: str, cgroup: cgroups.Cgroup) -> bool:
        try:
            return cgroup.try_remove()
        except (SandboxError, OSError) as exc:
            log.error("run_id=%s cgroup not removed: %s", run_id, exc)
            return True  # nothing more to try
