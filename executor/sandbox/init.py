"""Pid 1 of a sandbox: builds the view, starts the program, reaps, reports.

It stays a forked copy of the supervisor rather than an exec'd binary, so it
is made non-dumpable before the program exists: the program cannot ptrace it
or read its memory, environment or descriptors. It forwards the signals a
client may send to the program. When the program ends, it reports the wait
status and exits, and the kernel kills whatever is left in the namespace.
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
from executor.sandbox import Spec, Stdio, contain, mounts, namespaces, report, step

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
MAX_COLLECTED_FILES = 1000


def run(spec: Spec, stdio: Stdio, report_fd: int, root: str) -> NoReturn:
    """Child side, pid 1 of the new pid namespace."""
    try:
        step("pdeathsig", prctl.set_pdeathsig, signal.SIGKILL)
        step("identity", namespaces.become_root)
        step(
            "mounts",
            mounts.apply,
            root,
            spec.readonly_paths,
            spec.limits.workdir_bytes,
            spec.files,
        )
        step("hostname", socket.sethostname, mounts.HOSTNAME)
        step("dumpable", prctl.set_dumpable, False)
        report.send(report_fd, {"type": "started"})
        program = os.fork()
        if program == 0:
            contain(spec, stdio, report_fd)
        for fd in stdio.all():
            os.close(fd)
        _forward_signals(program)
        status = _wait_for(program)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        report.send(
            report_fd,
            {
                "type": "exited",
                "wait_status": status,
                "init_cpu_ms": int((cpu.ru_utime + cpu.ru_stime) * 1000),
            },
        )
        if spec.collect_files:
            _collect(report_fd, spec.limits.workdir_bytes)
    except SandboxError as exc:
        report.setup_failed(report_fd, exc)
    except OSError:
        pass  # the supervisor stopped reading: it has ended the stage
    os._exit(0)


def _forward_signals(program: int) -> None:
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(program, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)


def _wait_for(program: int) -> int:
    """Reap every child (orphans land here) until the program itself ends."""
    while True:
        pid, status = os.waitpid(-1, 0)
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
