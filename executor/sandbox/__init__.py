"""The sandbox: one module per kernel mechanism, applied in one order.

    supervisor (host)           launch.py: cgroup, spawn or fork, uid/gid maps
      helper (joins cgroup)     namespaces.apply, then starts the init
        init, pid 1             mounts (mounts.plan); reaps; reports
          program               the steps of contain(), then execve

A run stage's helper, init and program are the launcher (launcher/, C),
which applies what these modules decide: the namespaces, the mount plan, the
rlimit values (rlimits.settings) and the compiled filter (seccomp). A compile
stage's are forked from the supervisor and run this package's Python
(init.py, contain()). Every step either succeeds or fails naming itself; the
program never starts after a failed step.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

from executor.errors import SandboxError
from executor.job import File
from executor.limits import Limits
from executor.sandbox import credentials, fds, report, rlimits, seccomp

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """What one stage's sandbox runs, with what, under which limits."""

    run_id: str
    stage: str
    argv: list[str]
    env: dict[str, str]
    limits: Limits
    files: list[File] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    collect_files: bool = False
    memory_rlimit: bool = False  # without a memory cgroup, limit each process


@dataclass(frozen=True)
class Stdio:
    """The descriptors that become the program's 0, 1 and 2."""

    stdin: int
    stdout: int
    stderr: int

    def all(self) -> set[int]:
        return {self.stdin, self.stdout, self.stderr}


def step(name: str, action: Callable[..., T], *args: object) -> T:
    """Run one isolation step; any failure aborts with the step's name."""
    try:
        return action(*args)
    except SandboxError:
        raise
    except Exception as exc:
        raise SandboxError(name, f"{type(exc).__name__}: {exc}") from exc


def default_signals() -> None:
    """Unblock everything and restore default actions: the supervisor ignores
    SIGPIPE and SIGXFSZ (Python does), and a server started in the background
    ignores SIGINT; exec would pass all of that on to the program. Actions
    first: a signal the init forwarded meanwhile must not reach a handler of
    the supervisor's."""
    for signum in signal.valid_signals():
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(signum, signal.SIG_DFL)
            except (OSError, ValueError):
                pass  # real-time signals Python cannot name
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def contain(spec: Spec, stdio: Stdio, report_fd: int) -> NoReturn:
    """Program child: shed everything it must not keep, then become the program."""
    try:
        step("signals", default_signals)
        step("session", os.setsid)
        step("rlimits", rlimits.apply, spec.limits, spec.memory_rlimit)
        report_fd = step(
            "fds", fds.apply, stdio.stdin, stdio.stdout, stdio.stderr, report_fd
        )
        step("credentials", credentials.apply)
        become(spec)
    except SandboxError as exc:
        report.setup_failed(report_fd, exc)
    os._exit(127)


def become(spec: Spec) -> None:
    """The last two steps: the system-call filter, then the program."""
    step("seccomp", seccomp.apply, seccomp.program())
    step("exec", os.execvpe, spec.argv[0], spec.argv, spec.env)
