"""A signal for a run whose program has not started yet reaches it when it
starts: while its sandbox is made on demand, and while it waits for a slot."""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import AsyncIterator

import pytest

from executor import config
from executor.backends.local import LocalBackend
from executor.events import StageExited
from executor.job import Job, Stage, new_run_id
from executor.results import StageResult
from tests.executor.test_warm import python_job

SLEEPER = "import time\ntime.sleep(20)\nprint('slept')\n"
FIRST = "import time\ntime.sleep(0.5)\n"


@pytest.fixture
async def on_demand() -> AsyncIterator[LocalBackend]:
    """No pool and one slot: every sandbox is made for its run."""
    settings = dataclasses.replace(config.get(), pool_size=0, max_concurrent_runs=1)
    backend = LocalBackend(settings)
    yield backend
    await backend.aclose()


async def exits(handle) -> list[StageResult]:  # type: ignore[no-untyped-def]
    return [e.result async for e in handle.events() if isinstance(e, StageExited)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_sent_while_the_sandbox_is_made_reaches_the_program(
    on_demand, signum
):
    handle = await on_demand.submit(python_job(SLEEPER, prestart=False))
    await handle.send_signal(signum)

    results = await exits(handle)

    assert [(r.status, r.signal) for r in results] == [("SG", signum.name)]


async def test_a_signal_sent_while_the_run_waits_for_a_slot_reaches_it(on_demand):
    first = await on_demand.submit(python_job("print('first')", prestart=False))
    waiting = await on_demand.submit(python_job(SLEEPER, prestart=False))
    await waiting.send_signal(signal.SIGTERM)

    assert [r.status for r in await exits(first)] == [None]
    results = await exits(waiting)

    assert [(r.status, r.signal) for r in results] == [("SG", "SIGTERM")]


def compiled_job() -> Job:
    """A compile stage (the forked, Python sandbox) and then a run stage."""
    limits = config.get().stage_limits("run", 64 * 1024)
    stages = [Stage("compile", ["/bin/sh", "-c", "echo built > built"], limits),
              Stage("run", ["/bin/sh", "-c", "cat built"], limits)]  # fmt: skip
    return Job(new_run_id(), "c", "x", [], stages, {"PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("waits", [False, True])
async def test_a_signal_sent_as_a_compile_stage_starts_reaches_its_compiler(
    on_demand, signum, waits
):
    # The compile stage's init takes the signal while it is still building
    # its sandbox: it must hold it for the compiler, neither lose it (the run
    # would then go on to its limit) nor die of it.
    first = await on_demand.submit(python_job(FIRST, prestart=False))
    if not waits:
        await exits(first)
    handle = await on_demand.submit(compiled_job())
    await handle.send_signal(signum)

    if waits:
        await exits(first)
    results = [
        (e.stage, e.result.status, e.result.signal)
        async for e in handle.events()
        if isinstance(e, StageExited)
    ]

    assert results == [("compile", "SG", signum.name)]
