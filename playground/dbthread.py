"""One thread for the database work of the JSON API and of the runs' audit.

A request served in the event loop must not open a database connection of
its own: Django would close it at the request's end, and only a thread may.
So what the API and the audit need of the database (an API key, the audit
record) runs on this one thread, over a connection it keeps: a thread and a
new connection per request also cost more than the queries themselves.

Every API run crosses to this thread and back once, for its audit record, so
the crossing is kept small: a queue of the standard library's C kind, and the
answer handed to the loop directly (a ThreadPoolExecutor's submit and its
wrapped future took about as long as the write itself).
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

from django.db import DatabaseError, connection

T = TypeVar("T")

Task = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]

_tasks: SimpleQueue[Task | None] = SimpleQueue()
_thread: threading.Thread | None = None
_starting = threading.Lock()


def call(function: Callable[[], T]) -> asyncio.Future[T]:
    """Run `function` on the database thread; await the result in the loop.
    Cancelling the future does not stop a call the thread has begun."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    _start()
    _tasks.put((function, loop, future))
    return future


def retried(function: Callable[[], T]) -> T:
    """Call `function` on this thread; if the database fails it, once more."""
    try:
        return function()
    except DatabaseError:
        # The kept connection may be the trouble (the database restarted, or
        # dropped it while idle): the next try opens a new one.
        connection.close()
        return function()


def _start() -> None:
    global _thread
    if _thread is not None:
        return
    with _starting:
        if _thread is None:
            thread = threading.Thread(target=_serve, name="database", daemon=True)
            thread.start()
            atexit.register(_finish, thread)
            _thread = thread


def _serve() -> None:
    while (task := _tasks.get()) is not None:
        function, loop, future = task
        try:
            outcome: tuple[Any, BaseException | None] = (function(), None)
        except BaseException as exc:  # handed to the awaiting coroutine
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(_settle, future, *outcome)
        except RuntimeError:
            pass  # that loop has closed: nobody awaits the answer


def _settle(
    future: asyncio.Future[Any], result: Any, error: BaseException | None
) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _finish(thread: threading.Thread) -> None:
    """At exit, let the thread write what is queued (an audit record of the
    last runs) before the process ends."""
    _tasks.put(None)
    thread.join(timeout=10)
