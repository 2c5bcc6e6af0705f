"""The runs in flight in this web process, and how one is stopped early.

A run is stopped before its end for one of two reasons, and its audit record
says which: its client left (the surface serving it stops it), or the server
is shutting down (playground.serve stops every run in flight, and waits for
their records before daphne cancels the applications). Either way the record
keeps the stopped stage's result, so the run's events are still followed,
for a bounded while, until that result arrives.

    surface:  flight = Flight(run)
              async with flying(flight):           registered while it runs
                  follow(flight, the run's events)  a client leaving stops it
                  audit.record(..., flight.stopped_by)
    serve:    await land_all(seconds)               on SIGTERM, before daphne
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from executor.backends import RunHandle

log = logging.getLogger(__name__)

T = TypeVar("T")

# Why a run was stopped before its end (RunRecord.stopped_by).
CLIENT_LEFT = "client"
SHUTDOWN = "shutdown"
# How long a stopped run's last events are waited for. The executor answers a
# stop at once; if it is lost, its runs end as XX just as soon.
STOP_SECONDS = 5.0


class Flight:
    """A run in flight, and why it was stopped, if it was."""

    def __init__(self, run: RunHandle) -> None:
        self.run = run
        self.stopped_by = ""
        self.landed = asyncio.Event()  # followed to its end and recorded

    async def stop(self, reason: str) -> None:
        """Stop the run; the first reason given stands."""
        if not self.stopped_by:
            self.stopped_by = reason
            await self.run.stop()


_flying: set[Flight] = set()
_closing_at: float | None = None  # the loop's time the shutdown's wait ends


@asynccontextmanager
async def flying(flight: Flight) -> AsyncIterator[Flight]:
    """Keep `flight` registered while the block follows and records it; a run
    that starts while the server shuts down is stopped at once."""
    _flying.add(flight)
    try:
        if _closing_at is not None:
            await flight.stop(SHUTDOWN)
        yield flight
    finally:
        _flying.discard(flight)
        flight.landed.set()


async def follow(flight: Flight, following: Awaitable[T]) -> T:
    """Await `following`, which follows the flight's events. If the caller is
    cancelled (its client left), stop the run and let `following` see the
    stopped stage's result before the cancellation goes on."""
    task = asyncio.ensure_future(following)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await stop_and_wait(flight, task, CLIENT_LEFT)
        raise
    except Exception:
        await flight.run.stop()  # our failure; the program must not go on
        raise


async def stop_and_wait(
    flight: Flight, following: asyncio.Future[Any], reason: str
) -> None:
    """Stop a flight and give `following`, the task that follows its events,
    a bounded while to see the stopped stage's result; then cancel it."""
    await flight.stop(reason)
    if not (await asyncio.wait({following}, timeout=_patience()))[0]:
        log.warning("run_id=%s no result arrived after its stop; recorded "
                    "without it", flight.run.run_id)  # fmt: skip
        following.cancel()
    # How it ended (a cancellation, an error) is no one's to raise any more.
    await asyncio.gather(following, return_exceptions=True)


def _patience() -> float:
    # Once the server's wait is over, it cancels what is left: then only the
    # records are written, with what has arrived.
    if _closing_at is None:
        return STOP_SECONDS
    return max(_closing_at - asyncio.get_running_loop().time(), 0.0)


async def land_all(seconds: float) -> None:
    """Stop every run in flight, as the server shuts down, and wait up to
    `seconds` for each to be followed to its end and recorded."""
    global _closing_at
    loop = asyncio.get_running_loop()
    _closing_at = loop.time() + seconds
    # A run may start while the others land; flying() stops it at once.
    while _flying and (left := _closing_at - loop.time()) > 0:
        flights = list(_flying)
        await asyncio.gather(*(flight.stop(SHUTDOWN) for flight in flights))
        landings = [asyncio.ensure_future(f.landed.wait()) for f in flights]
        await asyncio.wait(landings, timeout=left)
        for landing in landings:
            landing.cancel()
    for flight in _flying:
        log.error("run_id=%s still in flight when the server stopped waiting; "
                  "its audit record may be missing", flight.run.run_id)  # fmt: skip
