"""One thread for the database work of the JSON API and of the runs' audit.

A request served in the event loop must not open a database connection of
its own: Django would close it at the request's end, and only a thread may.
So what the API and the audit need of the database (an API key, the audit
record) runs on this one thread, over a connection it keeps: a thread and a
new connection per request also cost more than the queries themselves.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import DatabaseError, connection

T = TypeVar("T")

EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="database")


def retried(function: Callable[[], T]) -> T:
    """Call `function` on this thread; if the database fails it, once more."""
    try:
        return function()
    except DatabaseError:
        # The kept connection may be the trouble (the database restarted, or
        # dropped it while idle): the next try opens a new one.
        connection.close()
        return function()
