"""Sandboxes made by the launcher and driven by the supervisor's loop:
isolated ahead of demand (the pool), or on demand for one stage.

    supervisor (Pool)  -- per member: its socket, report pipe, helper and init
                          pidfds
      helper            the launcher (or, for a Python warm member, a clone
                        of the zygote running the launcher's code): joins the
                        member's cgroup, unshares, waits for its ids to be
                        mapped, starts the init as the supervisor's child and
                        exits
      init, pid 1       view mounted, hostname set, non-dumpable
        program child   uid 1000, no capabilities, no_new_privs; says "ready"
                        on its socket and waits for exactly one hand-over
        (or, for an interpreter started before its run, see Warm: forked
        from the zygote, executor/sandbox/zygote.py, or on a FIFO)

A run stage takes a ready member whose view (the runtime's read-only paths,
the work directory's size) matches, renames its cgroup after the stage,
writes whichever cgroup limit differs and hands its run to the program child
(executor.sandbox.handover). The member leaves the pool for good: a sandbox
never serves a second run. The pool refills from the supervisor's loop when
it is quiet (Supervisor._quiet_needed). When no member fits, `launch_for`
makes one for that stage alone, driven by the same events. A member whose
isolation fails is discarded with an error naming the step; the pool's
refilling then backs off, and a stage's own member ends that stage with
status XX.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from executor.errors import SandboxError
from executor.job import Job, Stage
from executor.loop import Loop
from executor.sandbox import cgroups, handover, launch
from executor.sandbox.launch import Launched, Pending
from executor.sandbox.zygote import Zygote
from executor.stage import Streams, give_stdio
from executor.zygotes import Zygotes

log = logging.getLogger(__name__)

# What a pooled sandbox is built for: the runtime's read-only paths and the
# size of /work, /tmp and /dev/shm (only its init could change that later).
View = tuple[tuple[str, ...], int]
# The first members' cgroup limits; later ones are made with the last run's,
# so that a run like it writes none at hand-over. Before then a member holds
# only the launcher's own processes.
IDLE_LIMITS = cgroups.CgroupLimits(64 * 1024 * 1024, 3, 1.0)
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# A source encoding declaration on a program's first or second line (PEP
# 263); Python's lines end at "\n", "\r\n" or a lone "\r", however long they
# are. Matched in place: a run's program is never copied to look.
CODING = re.compile(rb"(?:[^\r\n]*(?:\r\n?|\n))?[ \t\f]*#[^\r\n]*?coding[:=]")


@dataclass(frozen=True)
class Warm:
    """An interpreter a pooled sandbox starts before its run exists
    (launcher/warm.c): the run's exact argv and environment, and the kind of
    stdio it will have, all of which the interpreter reads as it starts. A
    run takes such a sandbox only if it would have started the same."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    terminal: bool
    stdout_terminal: bool

    @classmethod
    def for_stage(cls, job: Job, stage: Stage) -> Warm | None:
        """The interpreter a pooled sandbox may start ahead of a stage like
        this one: the run stage of a runtime that allows it, with one file
        and no arguments, which the interpreter reads only once."""
        if not job.prestart or stage.name != "run" or len(job.files) != 1:
            return None
        name, content = job.files[0].name, job.files[0].content
        if "/" in name or stage.argv[1:] != [f"./{name}"] or _reread(content):
            return None
        env = tuple(job.env.items())
        return cls(tuple(stage.argv), env, job.interactive, job.stdout_terminal)


def _reread(content: bytes) -> bool:
    """Whether Python reads this program a second time from its start, which
    the FIFO a pre-started interpreter reads it from cannot do: to decode it
    in a declared encoding, or to load it as compiled code (a magic number,
    whose last two bytes are CR LF in every version, as a .pyc file has)."""
    return content[2:4] == b"\r\n" or CODING.match(content) is not None


@dataclass
class Member:
    """One pooled sandbox, from launch until a run takes it."""

    name: str
    view: View
    host_index: int
    cgroup: cgroups.Cgroup
    pending: Pending
    # Set for a sandbox made on demand for one stage: called once it is
    # ready, or with the step that failed. Such a member is never pooled.
    on_ready: Callable[[Member], None] | None = None
    on_failed: Callable[[SandboxError], None] | None = None
    discarded: bool = False
    warm: Warm | None = None
    streams: Streams | None = None  # a warm member's: its interpreter has them
    said: bytes = b""  # what the sandbox said so far on its socket
    zygote: Zygote | None = None  # the zygote that made it, if one did

    @property
    def fits(self) -> tuple[View, Warm | None]:
        return self.view, self.warm

    @property
    def expected(self) -> bytes:
        """What the sandbox says once it waits for its run: "R" once its
        privileges are dropped, and a warm one "W" once its interpreter waits
        for its program."""
        return handover.READY + (handover.WARMED if self.warm else b"")

    @property
    def announced(self) -> bool:
        return self.said == self.expected

    @property
    def ready(self) -> bool:
        """Isolated and waiting: the program child is ready, the init's pid
        known and the helper gone (each arrives on its own descriptor, in any
        order)."""
        pending = self.pending
        return self.announced and pending.init_pid != 0 and pending.helper_reaped

    @property
    def sock(self) -> socket.socket:
        return self.pending.sock

    @property
    def launched(self) -> Launched:
        return self.pending.launched()


class Pool:
    def __init__(
        self,
        size: int,
        hierarchy: cgroups.Hierarchy,
        root: str,
        loop: Loop,
        host_id: Callable[[int], int],
        ids: list[int],
        workdir_bytes: int,
        zygote: bool = True,
    ) -> None:
        self.size = size
        self.hierarchy = hierarchy
        self.root = root
        self.loop = loop
        self.host_id = host_id
        self.ids = ids  # shared with the supervisor: free host id indexes
        self.members: list[Member] = []
        self.wanted: View = ((), workdir_bytes)
        self.wanted_warm: Warm | None = None
        self.wanted_limits = IDLE_LIMITS
        self.numbers = itertools.count()
        self.backoff = 0.0
        self.retry_at = 0.0
        self.zygotes = Zygotes(root, loop, zygote)

    def take(
        self, view: View, limits: cgroups.CgroupLimits, warm: Warm | None = None
    ) -> Member | None:
        """A ready member for this view, now the caller's; None if none. With
        `warm`, one whose interpreter started for such a run comes first."""
        self.wanted, self.wanted_limits, self.wanted_warm = view, limits, warm
        ready = [m for m in self.members if m.ready]
        for fits in ((view, warm), (view, None)):
            for member in ready:
                if member.fits == fits:
                    self._forget(member)
                    return member
        others = [m for m in ready if m.fits != (view, warm)]
        if others and len(self.members) >= self.size:
            self._discard(others[0])  # the oldest: refill makes this kind
        return None

    def needs_refill(self) -> bool:
        return self.refill_at() <= time.monotonic()

    def refill_at(self) -> float:
        """When the pool may start its next member: at once, or once its
        backoff is over; never while it is full or no host id is free."""
        if len(self.members) >= self.size or not self.ids:
            return math.inf
        return self.retry_at

    def refill_one(self) -> None:
        """Start one member of the most recently wanted view; if the pool is
        full of other views, the oldest idle one makes room."""
        if not self.needs_refill():
            return
        index = self.ids.pop()
        name = f"pool-{next(self.numbers)}"
        spawner = self._zygote_for(self.wanted, self.wanted_warm)
        try:
            member = self._launch(name, self.wanted, self.wanted_limits, index,
                                  spawner)  # fmt: skip
        except SandboxError as exc:
            self.ids.append(index)
            self._failed(name, exc)
            return
        self.members.append(member)
        self._watch(member)
        if self.wanted_warm is not None:
            self._warm_up(member, self.wanted_warm)

    def launch_for(
        self,
        name: str,
        view: View,
        limits: cgroups.CgroupLimits,
        ready: Callable[[Member], None],
        failed: Callable[[SandboxError], None],
        warm: Warm | None = None,
    ) -> Member:
        """A sandbox made now for one stage, its cgroup named after it, driven
        by the loop as the pool's own are, so that the loop never waits for
        it; `ready` or `failed` is called once. With `warm` and a zygote for
        it, the sandbox is the zygote's, its interpreter already started.
        Raises SandboxError if it cannot even start."""
        index = self.ids.pop()
        spawner = self._zygote_for(view, warm)
        try:
            member = self._launch(name, view, limits, index, spawner)
        except SandboxError as exc:
            self.ids.append(index)
            if exc.step != "zygote":
                raise
            return self.launch_for(name, view, limits, ready, failed)  # set aside
        member.on_ready, member.on_failed = ready, failed
        self._watch(member)
        if spawner is not None and warm is not None:
            self._warm_up(member, warm)
        return member

    def cancel(self, member: Member) -> None:
        """End a sandbox made for a stage that no longer wants it."""
        self._discard(member)

    def _watch(self, member: Member) -> None:
        pending = member.pending
        self.loop.watch(pending.up_r, read=lambda: self._on_helper(member))
        self.loop.watch(member.sock.fileno(), read=lambda: self._on_socket(member))
        self.loop.watch(pending.helper_pidfd, read=lambda: self._on_helper_exit(member))

    def _zygote_for(self, view: View, warm: Warm | None) -> launch.Spawner | None:
        """How to start a member to be warmed so: by the zygote of that kind,
        or (None) by the launcher alone."""
        if warm is None:
            return None
        return self.zygotes.spawner(warm.argv, warm.env, view[0])

    def _launch(
        self,
        name: str,
        view: View,
        limits: cgroups.CgroupLimits,
        index: int,
        spawner: launch.Spawner | None = None,
    ) -> Member:
        cgroup = self.hierarchy.create(name, limits)
        try:
            paths, workdir_bytes = view
            pending = launch.start_launcher(
                list(paths), workdir_bytes, cgroup.join_paths(), self.root, spawner
            )
        except SandboxError:
            _remove(cgroup)
            raise
        os.set_blocking(pending.report_fd, False)
        member = Member(name, view, index, cgroup, pending)
        member.zygote = self.zygotes.current if spawner is not None else None
        return member

    def _warm_up(self, member: Member, warm: Warm) -> None:
        """Give the member its interpreter's argv, environment and stdio; the
        message waits in the socket until the program child reads it."""
        streams = Streams.create(warm.terminal, warm.stdout_terminal)
        member.warm, member.streams = warm, streams
        try:
            child = streams.ends()
            give_stdio(child, self.host_id(member.host_index))
            handover.send_warm_up(member.sock, list(warm.argv), dict(warm.env), child)
        except (SandboxError, OSError) as exc:
            self._fail(member, _as_error(exc))
        finally:
            streams.close_child()

    def _on_helper(self, member: Member) -> None:
        pending = member.pending
        try:
            if pending.advance(self.host_id(member.host_index)):
                self.loop.unwatch(pending.up_r)
                pending.close_sync()
                # From here an exit of the init means the sandbox failed.
                on_exit = functools.partial(self._on_init_exit, member)
                self.loop.watch(pending.init_pidfd, read=on_exit)
                self._maybe_ready(member)
        except (SandboxError, OSError) as exc:
            self._fail(member, _as_error(exc))

    def _on_helper_exit(self, member: Member) -> None:
        """The helper exits once it has started the init, or on a failure."""
        pending = member.pending
        self.loop.unwatch(pending.helper_pidfd)
        pending.reap_helper()
        if pending.up_r >= 0:
            self._on_helper(member)  # its last words: the init's pid, or none
        if not member.discarded and pending.init_pid == 0:
            self._fail(member, launch.failure_from(pending.report_fd, "pool"))
        elif not member.discarded:
            self._maybe_ready(member)

    def _on_init_exit(self, member: Member) -> None:
        self._fail(member, launch.failure_from(member.pending.report_fd, "pool"))

    def _on_socket(self, member: Member) -> None:
        try:
            data = member.sock.recv(1)
        except OSError:
            data = b""
        if not data or not member.expected.startswith(member.said + data):
            self._fail(member, launch.failure_from(member.pending.report_fd, "pool"))
            return
        member.said += data
        if member.announced:
            self.loop.unwatch(member.sock.fileno())
            self._maybe_ready(member)

    def _maybe_ready(self, member: Member) -> None:
        if not member.ready:
            return
        if member.on_ready is None:
            self.backoff = 0.0
            return
        self._forget(member)
        member.on_ready(member)

    def _fail(self, member: Member, exc: SandboxError) -> None:
        if member.discarded:
            return  # another of its descriptors told first
        self._discard(member)
        self.zygotes.sandbox_failed(member.zygote, exc)
        if member.on_failed is None:
            self._failed(member.name, exc)
        else:
            member.on_failed(exc)

    def _failed(self, name: str, exc: SandboxError) -> None:
        self.backoff = min(max(self.backoff * 2, FIRST_BACKOFF_SECONDS),
                           MAX_BACKOFF_SECONDS)  # fmt: skip
        self.retry_at = time.monotonic() + self.backoff
        log.error(
            "pool sandbox %s failed at step %r: %s; the pool retries in %.1fs",
            name,
            exc.step,
            exc.detail,
            self.backoff,
        )

    def _forget(self, member: Member) -> None:
        """Stop watching a member: it leaves the pool (taken or discarded)."""
        if member in self.members:
            self.members.remove(member)
        pending = member.pending
        watched = [pending.up_r, member.sock.fileno(), pending.init_pidfd]
        if not pending.helper_reaped:
            watched.append(pending.helper_pidfd)
        for fd in watched:
            if fd >= 0:
                self.loop.unwatch(fd)

    def _discard(self, member: Member) -> None:
        if member.discarded:
            return  # its descriptors are closed and may be another's now
        member.discarded = True
        self._forget(member)
        discard(member)
        self.ids.append(member.host_index)

    def close(self) -> None:
        """End every idle member and the zygote (the supervisor is stopping)."""
        for member in list(self.members):
            self._discard(member)
        self.zygotes.close()


def discard(member: Member) -> None:
    """End a member that will run nothing, and remove its cgroup."""
    member.pending.sock.close()
    if member.streams is not None:
        member.streams.close()
    member.cgroup.kill()
    member.pending.end()
    _remove(member.cgroup)


def _as_error(exc: Exception) -> SandboxError:
    if isinstance(exc, SandboxError):
        return exc
    return SandboxError("pool", f"{type(exc).__name__}: {exc}")


def _remove(cgroup: cgroups.Cgroup) -> None:
    try:
        cgroup.remove()
    except (SandboxError, OSError) as exc:
        log.error("pool cgroup not removed: %s", exc)
