"""The supervisor process keeps nothing of the state it was started in that
would change how it runs sandboxes."""

from __future__ import annotations

import signal
import socket
import subprocess

from executor import config
from executor.backends.local import LocalBackend, SupervisorConnection
from executor.events import Output, StageExited
from executor.job import Job, Stage, new_run_id

PYTHON = "/usr/bin/python3"


def two_stage_job() -> Job:
    """A compile stage (the Python path) and a run stage (the launcher)."""
    limits = config.get().stage_limits("run", 64 * 1024)
    stages = [Stage("compile", ["/bin/sh", "-c", "echo built > built.txt"], limits),
              Stage("run", [PYTHON, "-c", "print(open('built.txt').read().strip())"
                            "; raise SystemExit(3)"], limits)]  # fmt: skip
    return Job(new_run_id(), "python", "3", [], stages, {"PATH": "/usr/bin:/bin"})


async def test_an_ignored_sigchld_in_the_parent_changes_nothing(monkeypatch):
    # Exec keeps an ignored SIGCHLD: a web process started that way would
    # hand it to the supervisor, whose children the kernel would then reap
    # before anything waited for them.
    spawn = SupervisorConnection._spawn

    def spawn_ignoring(
        self: SupervisorConnection, theirs: socket.socket
    ) -> subprocess.Popen[bytes]:
        previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        try:
            return spawn(self, theirs)
        finally:
            signal.signal(signal.SIGCHLD, previous)

    monkeypatch.setattr(SupervisorConnection, "_spawn", spawn_ignoring)
    backend = LocalBackend(config.get())
    try:
        handle = await backend.submit(two_stage_job())
        stdout, results = "", []
        async for event in handle.events():
            if isinstance(event, Output):
                stdout += event.data.decode()
            elif isinstance(event, StageExited):
                results.append((event.stage, event.result.status, event.result.code))
    finally:
        await backend.aclose()

    assert results == [("compile", None, 0), ("run", "RE", 3)]
    assert stdout == "built\n"
