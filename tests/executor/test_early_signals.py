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
from executor.results import StageResult
from tests.executor.test_warm import python_job

SLEEPER = "import time\ntime.sleep(20)\nprint('slept')\n"


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
