"""Parent side of starting a sandbox, and the helper process it forks.

    supervisor --fork--> helper: joins the cgroup, unshares every namespace,
                         waits for its uid/gid maps, forks the init, waits
    helper     --fork--> init (pid 1 in the new pid namespace)

The helper stays alive as the init's parent so that a chain of parent-death
signals (supervisor -> helper -> init) ends the sandbox if the supervisor
dies. Two pipes synchronise the steps; the report pipe carries errors.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import NoReturn

import prctl

from executor.errors import SandboxError
from executor.messages import Decoder
from executor.sandbox import Spec, Stdio, fds, init, namespaces, report, step

UNSHARED = b"U"
MAPPED = b"M"
PID_BYTES = 8


@dataclass(frozen=True)
class Launched:
    helper_pid: int
    helper_pidfd: int
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
    up_r, up_w = os.pipe2(os.O_CLOEXEC)
    down_r, down_w = os.pipe2(os.O_CLOEXEC)
    sync = _Sync(up_r, up_w, down_r, down_w)
    supervisor = os.getpid()

    helper = os.fork()
    if helper == 0:
        _helper(spec, stdio, cgroup_files, sync, report_w, supervisor, root)

    for fd in (report_w, up_w, down_r):
        os.close(fd)
    try:
        init_pid = _handshake(helper, host_id, up_r, down_w, report_r)
    except BaseException:
        _abandon(helper, report_r)
        raise
    finally:
        os.close(up_r)
        os.close(down_w)
    return Launched(helper, os.pidfd_open(helper), init_pid, report_r)


def _handshake(helper: int, host_id: int, up_r: int, down_w: int, report_r: int) -> int:
    if os.read(up_r, 1) != UNSHARED:
        raise _failure_from(report_r, "namespaces")
    step("uid map", namespaces.map_ids, helper, host_id)
    os.write(down_w, MAPPED)
    data = os.read(up_r, PID_BYTES)
    if len(data) != PID_BYTES:
        raise _failure_from(report_r, "fork init")
    return int.from_bytes(data, "little")


def _failure_from(report_r: int, default_step: str) -> SandboxError:
    """The error the helper reported, or a generic one for `default_step`."""
    os.set_blocking(report_r, False)
    try:
        data = os.read(report_r, 65536)
    except OSError:
        data = b""
    for frame in Decoder().feed(data):
        if frame.type == "setup_failed":
            return SandboxError(frame.header["step"], frame.header["detail"])
    return SandboxError(default_step, "the sandbox helper exited early")


def _abandon(helper: int, report_r: int) -> None:
    try:
        os.kill(helper, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(helper, 0)
    os.close(report_r)


def _join_cgroup(files: list[str]) -> None:
    for path in files:
        with open(path, "w") as f:
            f.write(str(os.getpid()))


def _helper(
    spec: Spec,
    stdio: Stdio,
    cgroup_files: list[str],
    sync: _Sync,
    report_w: int,
    supervisor: int,
    root: str,
) -> NoReturn:
    try:
        step("pdeathsig", prctl.set_pdeathsig, signal.SIGKILL)
        if os.getppid() != supervisor:
            os._exit(1)
        keep = stdio.all() | {report_w, sync.up_w, sync.down_r}
        step("fds", fds.close_all_but, keep)
        step("cgroup", _join_cgroup, cgroup_files)
        step("namespaces", namespaces.apply)
        os.write(sync.up_w, UNSHARED)
        if os.read(sync.down_r, 1) != MAPPED:
            os._exit(1)
        pid = os.fork()
        if pid == 0:
            os.close(sync.up_w)
            os.close(sync.down_r)
            init.run(spec, stdio, report_w, root)
        os.write(sync.up_w, pid.to_bytes(PID_BYTES, "little"))
        fds.close_all_but(set())
        os.waitpid(pid, 0)
    except SandboxError as exc:
        report.setup_failed(report_w, exc)
    os._exit(0)
