"""Fixtures shared by the suite: running programs in the real sandbox, and
checking afterwards that nothing of a run is left on the host."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from executor import config
from executor.backends import Backend, get_backend
from executor.backends.local import LocalBackend
from executor.events import Output, StageExited
from executor.requests import build_job
from executor.results import OutputCollector
from playground.api.results import stage_json
from playground.registry import registry

SANDBOX_SLOTS = config.get().max_concurrent_runs
UID_BASE = config.get().sandbox_uid_base


@pytest.fixture(scope="session")
async def backend() -> AsyncIterator[Backend]:
    """The backend the site itself uses; its supervisor ends with the session."""
    shared = get_backend()
    yield shared
    assert isinstance(shared, LocalBackend)
    await shared.aclose()


async def execute(backend: Backend, language: str, source: str, *,
                  stdin: str = "", args: list[str] | None = None,
                  files: list[dict[str, str]] | None = None,
                  **limits: int) -> dict[str, Any]:
    """Run a program to completion; answer as POST /api/v2/execute would."""
    payload = {"language": language, "version": "*", "stdin": stdin,
               "args": args or [],
               "files": [{"content": source}, *(files or [])], **limits}
    settings = config.get()
    job, _ = build_job(payload, registry(), settings,
                       settings.defaults["http_output_bytes"])
    run = await backend.submit(job)
    stages: dict[str, Any] = {}
    output = OutputCollector()
    async for event in run.events():
        if isinstance(event, Output):
            output.feed(event.stream, event.data)
        elif isinstance(event, StageExited):
            output.finish()
            stages[event.stage] = stage_json(event.result, output)
            output = OutputCollector()
    return stages


def sandbox_processes() -> list[tuple[int, int]]:
    """(pid, uid) of every host process running as a sandbox id."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines()
                       if line.startswith("Uid:")).split()[1])
        if UID_BASE <= uid < UID_BASE + 2 * SANDBOX_SLOTS:
            found.append((int(entry.name), uid))
    return found


def leftover_cgroups() -> list[str]:
    """Stage cgroups still present under any supervisor's parent group."""
    left = []
    for parent in Path("/sys/fs/cgroup/pids").rglob("playground-*"):
        left += [str(p) for p in parent.iterdir() if p.is_dir()]
    return left


@pytest.fixture
def host_is_clean() -> Iterator[None]:
    """After the test: no process of any run alive, no stage cgroup left."""
    yield
    deadline = time.monotonic() + 2
    while (sandbox_processes() or leftover_cgroups()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes() == [], "a sandboxed process outlived its run"
    assert leftover_cgroups() == [], "a stage's cgroup was not removed"


def pytest_configure(config: Any) -> None:
    if os.geteuid() != 0:
        raise pytest.UsageError("the sandbox tests run as root (see README)")
