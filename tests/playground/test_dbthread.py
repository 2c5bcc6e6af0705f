"""The database thread: one thread, results and errors back in the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from playground import dbthread


async def test_a_call_returns_its_result_and_runs_off_the_loop():
    assert await dbthread.call(lambda: 6 * 7) == 42
    assert await dbthread.call(threading.get_ident) != threading.get_ident()


async def test_every_call_runs_on_the_one_thread():
    threads = await asyncio.gather(*(dbthread.call(threading.get_ident)
                                     for _ in range(20)))  # fmt: skip
    assert len(set(threads)) == 1


async def test_an_error_reaches_the_awaiting_coroutine():
    def fails() -> None:
        raise LookupError("no such key")

    with pytest.raises(LookupError, match="no such key"):
        await dbthread.call(fails)


async def test_a_call_whose_waiter_left_still_runs_and_the_next_is_served():
    started, release = threading.Event(), threading.Event()
    done = []

    def slow() -> None:
        started.set()
        release.wait(timeout=10)
        done.append(True)

    left = dbthread.call(slow)
    await asyncio.to_thread(started.wait, 10)
    left.cancel()
    release.set()

    assert await dbthread.call(lambda: "next") == "next"
    assert done == [True]
