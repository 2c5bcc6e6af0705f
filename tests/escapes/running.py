"""Helpers for escape tests that watch a run while it is still going, or look
at the host's side of a sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from executor import config
from executor.backends import Backend, RunHandle
from executor.events import Finished, Output, StageExited
from executor.job import Job
from executor.requests import build_job
from playground.registry import registry
from tests.conftest import sandbox_processes

# Short limits keep the suite fast wherever a case does not need the defaults.
FAST = {"run_timeout": 1000, "run_cpu_time": 1000}

# A C prelude for probes: TRY prints ESCAPED when a call succeeds and
# BLOCKED with its errno when it fails.
C_PROBE = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#define TRY(what, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; \
    printf("%s %s %d\n", r_ < 0 ? "BLOCKED" : "ESCAPED", what, e_); \
    fflush(stdout); } while (0)
"""


async def timed(coroutine: Awaitable[Any]) -> tuple[Any, float]:
    """The coroutine's result and how long it took, in seconds."""
    started = time.monotonic()
    result = await coroutine
    return result, time.monotonic() - started


async def start_until(
    backend: Backend, language: str, source: str, marker: bytes, **fields: Any
) -> tuple[Job, RunHandle, bytes]:
    """Start a run and return once its output holds `marker`, with the output
    so far; the caller stops it with `stop_and_drain`."""
    payload = {"language": language, "files": [{"content": source}], **fields}
    job, _ = build_job(payload, registry(), config.get(), 64 * 1024)
    run = await backend.submit(job)
    seen = b""

    async def wait() -> None:
        nonlocal seen
        async for event in run.events():
            if isinstance(event, Output):
                seen += event.data
                if marker in seen:
                    return
            elif isinstance(event, Finished) or (
                isinstance(event, StageExited) and event.stage == "run"
            ):
                raise AssertionError(f"the run ended before {marker!r}: {event}")

    await asyncio.wait_for(wait(), timeout=10)
    return job, run, seen


async def stop_and_drain(run: RunHandle) -> None:
    await run.stop()
    async for _ in run.events():
        pass


def status_field(pid: int, name: str) -> str:
    """A field of /proc/<pid>/status, or "" if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    return ""


def rss_bytes(pid: int) -> int:
    """Resident memory of a host process now."""
    return int(status_field(pid, "VmRSS").split()[0]) * 1024


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def sandbox_pids(backend: Backend) -> dict[int, int]:
    """Host pid -> pid inside its sandbox, for every process that lives in a
    run's pid namespace (the init is 1, the program 2)."""
    found = {}
    for pid, _uid in sandbox_processes(set(backend.supervisor_pids())):
        levels = status_field(pid, "NSpid").split()
        if len(levels) > 1:
            found[pid] = int(levels[-1])
    return found
