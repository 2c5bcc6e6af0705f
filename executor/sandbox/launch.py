"""Parent side of starting a sandbox, and the helper process it makes.

    run stages:
    supervisor --posix_spawn--> launcher helper: joins the cgroup, unshares
                                every namespace, waits for its uid/gid maps,
                                starts the init as the supervisor's child
                                (CLONE_PARENT) and exits
    compile stages:
    supervisor --fork--> helper: the same in Python, then forks the init and
                         stays its parent until it exits
    either way the init is pid 1 of the new pid namespace

A chain of parent-death signals (supervisor -> init, or supervisor -> helper
-> init) ends the sandbox if the supervisor dies. Two pipes synchronise the
steps; the report pipe carries errors. The launcher (launcher/, a small
binary) is started without forking the supervisor's Python heap, which made
each sandbox cost ~12 ms of CPU in copy-on-write faults; a compile stage's
init also sends back the files the compiler wrote, which only the Python
init does.
"""

from __future__ import annotations

import fcntl
import functools
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import prctl

from executor.errors import SandboxError
from executor.messages import Decoder
from executor.sandbox import (
    Spec,
    Stdio,
    fds,
    init,
    mounts,
    namespaces,
    report,
    seccomp,
    step,
)

UNSHARED = b"U"
MAPPED = b"M"
PID_BYTES = 8
# Built from launcher/*.c by scripts/bootstrap.sh (make install).
LAUNCHER = Path(__file__).with_name("launcher") / "playground-launcher"
# launcher/launcher.h: report, up, down, socket, filter; all others closed.
LAUNCHER_FDS = range(3, 8)


@dataclass(frozen=True)
class Launched:
    """A started sandbox. `child` is the supervisor's own child that holds it
    and whose exit means nothing of it is left: the launcher's init, or a
    forked (compile stage) sandbox's helper."""

    child_pid: int
    child_pidfd: int
    init_pid: int
    report_fd: int


@dataclass(frozen=True)
class _Sync:
    up_r: int
    up_w: int
    down_r: int
    down_w: int


def launch(
    spec: Spec, stdio: Stdio, cgroup_files: list[str], host_id: int, root: str
) -> Launched:
    """Start a sandbox for `spec`; the program runs when this returns."""
    report_r, report_w = os.pipe2(os.O_CLOEXEC)

    def main() -> NoReturn:
        init.run(spec, stdio, report_w, root)

    child = _Child(main, stdio.all() | {report_w}, report_w)
    return _start(child, cgroup_files, host_id, report_r)


# How a helper is started: the launcher's argv and its descriptors 3 to 7
# in, its pid out. A zygote (executor.sandbox.zygote) is another way.
Spawner = Callable[[list[str], list[int]], int]


def start_launcher(
    readonly_paths: list[str],
    workdir_bytes: int,
    cgroup_files: list[str],
    root: str,
    spawner: Spawner | None = None,
) -> Pending:
    """Start the launcher for a sandbox that isolates itself and then waits on
    its socket for one run (executor.sandbox.handover) whose work directory
    has this size. Returns at once: the caller drives the id mapping with
    `advance` when `up_r` is readable, so that a pool refilling never blocks
    the loop."""
    argv = [str(LAUNCHER), hex(namespaces.ALL), str(os.getpid()), *cgroup_files,
            "--", *_plan(root, tuple(readonly_paths), workdir_bytes)]  # fmt: skip
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    up_r, up_w = os.pipe2(os.O_CLOEXEC)
    down_r, down_w = os.pipe2(os.O_CLOEXEC)
    ours, theirs = socket.socketpair()
    theirs_fd = theirs.detach()
    given = [report_w, up_w, down_r, theirs_fd, seccomp.program_fd()]
    try:
        helper = step("launcher", spawner or _spawn, argv, given)
    except SandboxError:
        for fd in (report_r, up_r, down_w):
            os.close(fd)
        ours.close()
        raise
    finally:
        for fd in given[:-1]:
            os.close(fd)
    return Pending(helper, os.pidfd_open(helper), up_r, down_w, report_r, ours)


@functools.lru_cache(maxsize=32)
def _plan(root: str, readonly_paths: tuple[str, ...], workdir_bytes: int) -> list[str]:
    """The view's plan as arguments; the host's layout is read once per view."""
    return mounts.flat(mounts.plan(root, readonly_paths, workdir_bytes))


def _spawn(argv: list[str], given: list[int]) -> int:
    """posix_spawn the launcher with `given` on descriptors 3 to 7."""
    try:
        return spawn_with(argv, {}, given, LAUNCHER_FDS.start)
    except FileNotFoundError as exc:
        raise SandboxError("launcher", f"{argv[0]} is not built: run `make "
                           "install` (scripts/launcher.sh)") from exc  # fmt: skip


def spawn_with(argv: list[str], env: dict[str, str], given: list[int],
               first: int) -> int:  # fmt: skip
    """posix_spawn `argv` with `given` on descriptors `first` on; copied
    above them first, so that no dup2 overwrites another source."""
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in given]
    try:
        actions = [(os.POSIX_SPAWN_DUP2, fd, target)
                   for target, fd in enumerate(moved, start=first)]  # fmt: skip
        return os.posix_spawn(argv[0], argv, env, file_actions=actions)
    finally:
        for fd in moved:
            os.close(fd)


@dataclass
class Pending:
    """A launcher's sandbox on its way: its helper waits for the id maps,
    then starts the init as the supervisor's child and exits."""

    helper_pid: int
    helper_pidfd: int
    up_r: int
    down_w: int
    report_fd: int
    sock: socket.socket
    mapped: bool = False
    init_pid: int = 0
    init_pidfd: int = -1
    helper_reaped: bool = False

    def advance(self, host_id: int) -> bool:
        """The helper spoke: map its ids, or learn the init's pid. True once
        the init exists (then close_sync); raises SandboxError naming a
        failed step."""
        if not self.mapped:
            if os.read(self.up_r, 1) != UNSHARED:
                raise failure_from(self.report_fd, "namespaces")
            step("uid map", namespaces.map_ids, self.helper_pid, host_id)
            os.write(self.down_w, MAPPED)
            self.mapped = True
            return False
        data = os.read(self.up_r, PID_BYTES)
        if len(data) != PID_BYTES:
            raise failure_from(self.report_fd, "fork init")
        self.init_pid = int.from_bytes(data, "little")
        self.init_pidfd = step("fork init", os.pidfd_open, self.init_pid)
        return True

    def reap_helper(self) -> None:
        """The helper has exited (its pidfd is readable): collect it."""
        if not self.helper_reaped:
            os.waitpid(self.helper_pid, 0)
            os.close(self.helper_pidfd)
            self.helper_reaped = True

    def close_sync(self) -> None:
        for fd in (self.up_r, self.down_w):
            if fd >= 0:
                os.close(fd)
        self.up_r = self.down_w = -1

    def end(self) -> None:
        """Kill and collect what is left of a sandbox that will run nothing
        (its cgroup has been killed already)."""
        self.close_sync()
        for pid, pidfd, gone in ((self.helper_pid, self.helper_pidfd,
                                  self.helper_reaped),
                                 (self.init_pid, self.init_pidfd, False)):  # fmt: skip
            if pid != 0 and not gone:
                _kill_and_reap(pid)
                os.close(pidfd)
        self.helper_reaped = True
        os.close(self.report_fd)

    def launched(self) -> Launched:
        return Launched(self.init_pid, self.init_pidfd, self.init_pid,
                        self.report_fd)  # fmt: skip


@dataclass(frozen=True)
class _Child:
    """What the helper's child (the init) runs, and the descriptors it keeps."""

    main: Callable[[], NoReturn]
    keep: set[int]
    report_w: int


def _fork(child: _Child, cgroup_files: list[str]) -> tuple[int, _Sync]:
    """Fork the helper; the parent keeps the sync pipes' ends it uses."""
    up_r, up_w = os.pipe2(os.O_CLOEXEC)
    down_r, down_w = os.pipe2(os.O_CLOEXEC)
    sync = _Sync(up_r, up_w, down_r, down_w)
    supervisor = os.getpid()

    helper = os.fork()
    if helper == 0:
        _helper(child, cgroup_files, sync, supervisor)

    for fd in (child.report_w, up_w, down_r):
        os.close(fd)
    return helper, sync


def _start(
    child: _Child, cgroup_files: list[str], host_id: int, report_r: int
) -> Launched:
    """Fork the helper, map its ids, and learn the init's pid."""
    helper, sync = _fork(child, cgroup_files)
    try:
        init_pid = _handshake(helper, host_id, sync.up_r, sync.down_w, report_r)
    except BaseException:
        _abandon(helper, report_r)
        raise
    finally:
        os.close(sync.up_r)
        os.close(sync.down_w)
    return Launched(helper, os.pidfd_open(helper), init_pid, report_r)


def _handshake(helper: int, host_id: int, up_r: int, down_w: int, report_r: int) -> int:
    if os.read(up_r, 1) != UNSHARED:
        raise failure_from(report_r, "namespaces")
    step("uid map", namespaces.map_ids, helper, host_id)
    os.write(down_w, MAPPED)
    data = os.read(up_r, PID_BYTES)
    if len(data) != PID_BYTES:
        raise failure_from(report_r, "fork init")
    return int.from_bytes(data, "little")


def failure_from(report_r: int, default_step: str) -> SandboxError:
    """The error the helper reported, or a generic one for `default_step`:
    the end of a program child (or a pre-started interpreter) that ended
    while it waited for a run, or else the helper's."""
    os.set_blocking(report_r, False)
    try:
        data = os.read(report_r, 65536)
    except OSError:
        data = b""
    return failure_in(data, default_step)


def failure_in(data: bytes, default_step: str) -> SandboxError:
    """The error that report frames tell, or a generic one for the step."""
    frames = list(Decoder().feed(data))
    for frame in frames:
        if frame.type == "setup_failed":
            return SandboxError(frame.header["step"], frame.header["detail"])
    for frame in frames:
        if frame.type == "exited":
            ended = _ended(int(frame.header["wait_status"]))
            return SandboxError(
                default_step, f"its program ended while it waited for a run: {ended}"
            )
    return SandboxError(default_step, "the sandbox helper exited early")


def _ended(wait_status: int) -> str:
    if not os.WIFSIGNALED(wait_status):
        return f"exit code {os.WEXITSTATUS(wait_status)}"
    number = os.WTERMSIG(wait_status)
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal without a name of its own
        return f"signal {number}"


def _abandon(helper: int, report_r: int) -> None:
    _kill_and_reap(helper)
    os.close(report_r)


def _kill_and_reap(child: int) -> None:
    """Our own child: unreaped, its pid cannot name another process."""
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(child, 0)


def _join_cgroup(files: list[str]) -> None:
    for path in files:
        with open(path, "w") as f:
            f.write(str(os.getpid()))


def _helper(child: _Child, cgroup_files: list[str], sync: _Sync,
            supervisor: int) -> NoReturn:  # fmt: skip
    try:
        step("pdeathsig", prctl.set_pdeathsig, signal.SIGKILL)
        if os.getppid() != supervisor:
            os._exit(1)
        step("fds", fds.close_all_but, child.keep | {sync.up_w, sync.down_r})
        step("cgroup", _join_cgroup, cgroup_files)
        step("namespaces", namespaces.apply)
        os.write(sync.up_w, UNSHARED)
        if os.read(sync.down_r, 1) != MAPPED:
            os._exit(1)
        # Held from the init's first instant: the supervisor may signal it as
        # soon as it knows its pid, and an init with no handler drops a
        # signal (or, with the supervisor's SIGINT handler, unwinds).
        signal.pthread_sigmask(signal.SIG_BLOCK, init.WAITED)
        pid = os.fork()
        if pid == 0:
            os.close(sync.up_w)
            os.close(sync.down_r)
            child.main()
        os.write(sync.up_w, pid.to_bytes(PID_BYTES, "little"))
        fds.close_all_but(set())
        os.waitpid(pid, 0)
    except SandboxError as exc:
        report.setup_failed(child.report_w, exc)
    os._exit(0)
