"""Django's ASGI handler, with the JSON API served in the event loop.

For every request Django starts a thread for its synchronous code, and hops
to it for its request signals and to close the response: three thread hops
that cost a JSON API request more than its view. The JSON API's middleware
and views run in the loop (playground/inloop.py) and keep no database
connection of their own (playground/dbthread.py), so Django's request
receivers (forget the queries, close old connections and caches, reset the
URLconf) have nothing to wait for: they run in the loop too. A request that
did open a connection has it closed in a thread, as Django would.
"""

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import connections
from django.dispatch import Signal
from django.http import HttpResponseBase
from django.urls import set_script_prefix

from playground.inloop import SCOPE_KEY, serves_json_api

T = TypeVar("T")


class Handler(ASGIHandler):
    """Django's handler; a JSON API request stays in the loop."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and serves_json_api(_path_info(scope)):
            scope[SCOPE_KEY] = True  # for the middleware: resolved once
            await self.handle_in_loop(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def handle_in_loop(self, scope: Any, receive: Any, send: Any) -> None:
        """Django's handle(), its signals sent and its response closed here.
        Follows Django 5.2's ASGIHandler.handle: compare it on an upgrade."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            await self._handle(scope, body_file, receive, send)
        finally:
            body_file.close()

    async def _handle(self, scope: Any, body: Any, receive: Any, send: Any) -> None:
        set_script_prefix(get_script_prefix(scope))
        await _send(signals.request_started, self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body)
        if request is None:
            await self.send_response(error_response, send)
            await _close(error_response)
            return

        response = await self._respond(request, receive, send)
        if response is None:
            await _send(signals.request_finished, self.__class__)
        else:
            await _close(response)

    async def _respond(
        self, request: Any, receive: Any, send: Any
    ) -> HttpResponseBase | None:
        """The response sent, or None if the client left first (as Django)."""

        async def process_request() -> HttpResponseBase:
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client left while the response went out
            return response

        leaving = self.listen_for_disconnect(receive)
        done = await unless_client_leaves(process_request(), leaving)
        return None if done is None else done.result()


async def unless_client_leaves(
    work: Awaitable[T], leaving: Awaitable[Any]
) -> asyncio.Future[T] | None:
    """Race `work` against `leaving` (the client's disconnect) and cancel
    the loser: the finished work, or None if it was cancelled. Also when the
    server stops and cancels this request: the work must not outlive it, or
    a run's record would be lost with the event loop."""
    working = asyncio.ensure_future(work)
    listening = asyncio.ensure_future(leaving)
    try:
        await asyncio.wait([working, listening], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (listening, working):
            if not task.done():
                task.cancel()
            # As Django: a disconnect is no error, and the work may handle its
            # cancellation; what it raised otherwise is the caller's to read.
            await asyncio.gather(task, return_exceptions=True)
    return None if working.cancelled() else working


def _holds_connections() -> bool:
    return any(connections.all(initialized_only=True))


async def _close(response: HttpResponseBase) -> None:
    """Close the response; request_finished closes this request's
    connections, which only a thread may do."""
    if _holds_connections():
        await sync_to_async(response.close)()
    else:
        response.close()


async def _send(signal: Signal, sender: type, **named: Any) -> None:
    if _holds_connections():
        await signal.asend(sender=sender, **named)
    else:
        signal.send(sender=sender, **named)


def _path_info(scope: Any) -> str:
    # As Django's request computes it.
    path: str = scope["path"]
    return path.removeprefix(get_script_prefix(scope))
