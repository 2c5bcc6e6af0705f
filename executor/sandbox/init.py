"""Pid 1 of a sandbox: builds the view, starts the program, reaps, reports.

It stays a forked copy of the supervisor rather than an exec'd binary, so it
is made non-dumpable before the program exists: the program cannot ptrace it
or read its memory, environment or descriptors. It forwards the signals the
supervisor sends on a client's behalf, and ignores any the program sends it.
When the program ends, it reports the wait status and exits, and the kernel
kills whatever is left in the namespace.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import stat
from typing import NoReturn

import prctl

from executor.errors import SandboxError
from executor.sandbox import (
    Spec,
    Stdio,
    contain,
    mounts,
    namespaces,
    report,
    step,
)

FORWARDED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGCONT,
    signal.SIGWINCH,
)
# Blocked in the init and taken with sigwaitinfo, which says who sent them.
WAITED = {signal.SIGCHLD, *FORWARDED}
MAX_COLLECTED_FILES = 1000


def run(spec: Spec, stdio: Stdio, report_fd: int, root: str) -> NoReturn:
    """Child side, pid 1 of the new pid namespace: a sandbox made for one run."""
    try:
        _prepare(root, spec.readonly_paths, spec.limits.workdir_bytes)
        step("files", mounts.write_files, "", spec.files)
        _start(spec, stdio, report_fd, 0)
    except SandboxError as exc:
        report.setup_failed(report_fd, exc)
    except OSError:
        pass  # the supervisor stopped reading: it has ended the stage
    os._exit(0)


def _prepare(root: str, readonly_paths: list[str], workdir_bytes: int) -> None:
    """Every isolation step of the init that needs nothing of the run."""
    step("pdeathsig", prctl.set_pdeathsig, signal.SIGKILL)
    # Forked from the supervisor, the init would show its command line.
    step("title", prctl.set_proctitle, "init")
    step("identity", namespaces.become_init_user)
    # Changing uid clears the parent-death signal: set it again, or a killed
    # supervisor would leave this init and its program running.
    # Known gap: a helper killed between the two calls still leaves them.
    step("pdeathsig", prctl.set_pdeathsig, signal.SIGKILL)
    step("mounts", mounts.apply, root, readonly_paths, workdir_bytes)
    step("hostname", socket.sethostname, mounts.HOSTNAME)
    step("dumpable", prctl.set_dumpable, False)


def _start(spec: Spec, stdio: Stdio, report_fd: int, cpu_base: int) -> None:
    """Fork the program, wait for it, report how it ended."""
    report.send(report_fd, {"type": "started"})
    signal.pthread_sigmask(signal.SIG_BLOCK, WAITED)
    program = os.fork()
    if program == 0:
        contain(spec, stdio, report_fd)
    for fd in stdio.all():
        os.close(fd)
    status = _wait_for(program)
    report.send(report_fd, _exited(status, cpu_base))
    if spec.collect_files:
        _collect(report_fd, spec.limits.workdir_bytes)


def _own_cpu_ms() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return int((own.ru_utime + own.ru_stime) * 1000)


def _exited(status: int, cpu_base: int) -> dict[str, object]:
    """The program's end, with what the init (since `cpu_base`) and its
    reaped children used."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "type": "exited",
        "wait_status": status,
        "init_cpu_ms": _own_cpu_ms() - cpu_base,
        "children_cpu_ms": int((children.ru_utime + children.ru_stime) * 1000),
        "children_peak_bytes": children.ru_maxrss * 1024,
    }


def _wait_for(program: int) -> int:
    """Reap every child (orphans land here) until the program itself ends;
    meanwhile pass on the signals the supervisor sends."""
    while True:
        info = signal.sigwaitinfo(WAITED)
        if info.si_signo != signal.SIGCHLD:
            # A sender outside this pid namespace shows as pid 0: only the
            # supervisor is forwarded, never the program signalling its init.
            if info.si_pid == 0:
                _forward(program, info.si_signo)
            continue
        status = _reap(program)
        if status is not None:
            return status


def _forward(program: int, signum: int) -> None:
    try:
        os.kill(program, signum)
    except ProcessLookupError:
        pass


def _reap(program: int) -> int | None:
    """Reap what has ended; the program's wait status once it has."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid == 0:
            return None
        if pid == program:
            return status


def _collect(report_fd: int, budget: int) -> None:
    """Send /work's regular files once nothing else in the sandbox runs."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the program left nothing behind
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    count = 0
    for directory, _dirs, names in os.walk(mounts.WORK_DIR, followlinks=False):
        for name in names:
            path = os.path.join(directory, name)
            content, mode = _read_regular(path, budget)
            if content is None or count >= MAX_COLLECTED_FILES:
                continue
            budget -= len(content)
            count += 1
            relative = os.path.relpath(path, mounts.WORK_DIR)
            report.send(
                report_fd,
                {
                    "type": "file",
                    "name": relative,
                    "executable": bool(mode & 0o111),
                },
                content,
            )


def _read_regular(path: str, budget: int) -> tuple[bytes | None, int]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None, 0
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > budget:
            return None, 0
        chunks = []
        while data := os.read(fd, 1 << 20):
            chunks.append(data)
        return b"".join(chunks), info.st_mode
    finally:
        os.close(fd)
