"""The zygote's life beside its supervisor (executor/sandbox/zygote.py): it
ends with the supervisor, however the supervisor ends, and when it fails
Python runs go on, their interpreter started with them. The runs a zygote
serves are tested with every other warm run, in test_warm.py."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from tests.conftest import children, is_zygote
from tests.executor.test_pool import wait_for_log
from tests.executor.test_warm import (
    STARTED,
    WarmPool,
    python_job,
    run,
    took_warm_interpreter,
    warm_sandbox,
    warmed,
)
from tests.servers import zygote_of


async def gone(pid: int) -> bool:
    """Whether the process has ended (and been reaped), waiting a while."""
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return not os.path.exists(f"/proc/{pid}")


@pytest.fixture
async def zygote_pool() -> AsyncIterator[WarmPool]:
    backend = WarmPool(zygote=True)
    yield backend
    await backend.aclose()


async def started(backend: WarmPool) -> tuple[int, int]:
    """The supervisor and its zygote, once the pool is warm. (In the test's
    own event loop: a backend's supervisor serves the loop that started it.)"""
    await warmed(backend)
    supervisor = backend.supervisor_pids()[0]
    zygote = zygote_of(supervisor)
    assert zygote, "the warm pool has no zygote"
    return supervisor, zygote


async def test_the_zygote_ends_with_its_supervisor(zygote_pool):
    _, zygote = await started(zygote_pool)
    await zygote_pool.aclose()

    assert await gone(zygote)


async def test_the_zygote_dies_with_a_killed_supervisor(zygote_pool):
    supervisor, zygote = await started(zygote_pool)
    os.kill(supervisor, signal.SIGKILL)

    assert await gone(zygote)


async def test_python_runs_go_on_without_a_zygote_that_died(capfd, zygote_pool):
    backend = zygote_pool
    supervisor, zygote = await started(backend)
    os.kill(zygote, signal.SIGKILL)
    log = await wait_for_log(capfd, "zygote failed")
    # The sandbox it made before it died is whole, and a run may take it.
    ran = [await run(backend, python_job(STARTED + "print('ran')")) for _ in "abc"]

    assert "zygote failed at step 'zygote': it exited" in log
    assert [r.stdout.splitlines()[1:] for r in ran] == [["ran"]] * 3
    assert not took_warm_interpreter(backend, ran[-1])
    assert not any(is_zygote(pid) for pid in children(supervisor))


async def test_a_zygote_turned_off_is_never_started():
    backend = WarmPool(zygote=False)
    try:
        await warmed(backend)

        assert not any(map(is_zygote, children(backend.supervisor_pids()[0])))
    finally:
        await backend.aclose()


async def test_a_sandbox_of_the_zygote_that_fails_sets_the_zygote_aside(
    capfd, zygote_pool
):
    # Whatever made it fail may be the zygote's and fail every sandbox it
    # makes: the pool does without it for a while.
    supervisor, _ = await started(zygote_pool)
    _, interpreter, _ = await warm_sandbox(zygote_pool)
    os.kill(interpreter, signal.SIGKILL)
    log = await wait_for_log(capfd, "zygote failed")
    ran = await run(zygote_pool, python_job(STARTED + "print('ran')"))

    assert "a sandbox it made failed at step 'pool'" in log
    assert ran.stdout.splitlines()[1:] == ["ran"]
    assert not any(map(is_zygote, children(supervisor)))


def open_files(pid: int, lowest: int = 0) -> dict[int, str]:
    """What each of the process's descriptors from `lowest` on refers to."""
    found = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) >= lowest:
            try:
                found[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:  # closed meanwhile
                pass
    return found


async def test_the_zygote_holds_no_descriptor_of_its_supervisor(zygote_pool):
    # It is given its stdio, its report pipe, its library and its socket
    # (0 to 5); the supervisor's own, such as the control socket to the web
    # process, stay the supervisor's.
    supervisor, zygote = await started(zygote_pool)
    theirs = open_files(zygote, lowest=3)
    ours = set(open_files(supervisor).values())

    assert not ours & set(theirs.values()), theirs
    assert max(theirs) <= 5, theirs
