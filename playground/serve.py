"""`python -m playground.serve ARGS`: the web server, daphne with its own
arguments, with a websocket close that waits for a slow reader, and a
shutdown that first ends the runs in flight.

Daphne keeps autobahn's 1 s limit on the close handshake, counted from when
the close frame is queued, behind any output the client has not read yet. A
page still rendering a program's 1 MiB of output takes longer than that to
reach the close, and its connection was then cut (a TCP reset), taking the
end of the output and the exit frame with it.

A fixed longer limit is not enough either: JSON escapes a control character
or an invalid byte into six bytes, so a capped output can be 6 MiB a stream,
three minutes on a 300 kbit/s link. A closing connection is therefore cut
only once its client has taken nothing from it for `--websocket-close-timeout`
seconds (30), checked every second.

On SIGTERM daphne cancels every application at once and stops the event
loop: a run in flight ended with its supervisor but left no audit record,
and its client saw the connection drop. This server first stops the runs in
flight and waits, at most `--shutdown-timeout` seconds (5), for their records
and for their clients to be told (a websocket's close 1001, an HTTP 503);
then it cancels the applications left, as daphne does.
"""

import argparse
import asyncio
import fcntl
import functools
import logging
import math
import struct
import termios
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor
from twisted.web import http as twisted_http

from playground import inflight

log = logging.getLogger(__name__)

# Long enough for a page to read what it holds already and answer; a client
# that reads nothing more for this long is cut off.
CLOSE_HANDSHAKE_SECONDS = 30.0
CHECK_SECONDS = 1.0  # how often a closing connection's progress is looked at
DRAIN_CHECK_SECONDS = 0.01  # how often a stopping server looks for unsent data
# Close codes for a server that autobahn's sendClose refuses: going away (the
# server stops), and an internal error.
SERVER_CODES = {1001, 1011}
# Long enough for stopped runs to report and be recorded; well within the
# 10 s a container is given after SIGTERM before it is killed.
SHUTDOWN_SECONDS = 5.0


class PatientProtocol(WebSocketProtocol):  # type: ignore[misc]
    """A websocket whose close is cut short only when its client stalls, and
    that may close with the standard's server codes."""

    stalled_since = 0.0
    unsent_before: int | None = None

    def serverClose(self, code: int | None = None) -> None:
        # autobahn's sendClose refuses the codes the standard gives a server
        # (only 1000 and 3000-4999 pass), and daphne then sends no close.
        if code in SERVER_CODES:
            self.sendCloseFrame(code=code)
        else:
            super().serverClose(code)

    def sendCloseFrame(self, *args: Any, **kw: Any) -> None:
        super().sendCloseFrame(*args, **kw)
        self.stalled_since = time.monotonic()
        self.unsent_before = self.unsent()

    def onCloseHandshakeTimeout(self) -> None:
        # autobahn calls this every CHECK_SECONDS (its own limit, as set in
        # PlaygroundServer) until the client answers the close.
        unsent = self.unsent()
        if unsent is not None and self.unsent_before is not None:
            # Nothing is queued after a close frame, so a shorter queue means
            # the client read some of it.
            if unsent < self.unsent_before:
                self.stalled_since = time.monotonic()
            self.unsent_before = unsent
        patience = self.factory.server_class.close_timeout
        if time.monotonic() - self.stalled_since < patience:
            self.closeHandshakeTimeoutCall = self.factory._batched_timer.call_later(
                self.closeHandshakeTimeout, self.onCloseHandshakeTimeout
            )
            return
        super().onCloseHandshakeTimeout()

    def unsent(self) -> int | None:
        """Bytes written but not yet taken by the client: Twisted's buffer
        and the kernel's; None behind a wrapper (TLS) that hides them."""
        transport = self.transport
        try:
            queued = len(transport.dataBuffer) - transport.offset
            queued += transport._tempDataLen
            answer = fcntl.ioctl(transport.fileno(), termios.TIOCOUTQ, bytes(4))
        except (AttributeError, OSError):
            return None
        return int(queued) + int(struct.unpack("i", answer)[0])


def remember_content_types() -> None:
    """Twisted parses every POST's Content-Type with the email package before
    the application sees the request: about 0.3 ms of CPU per API run on a
    small VM. Clients send a handful of distinct values, so each value's
    parse is kept (a Twisted without this private function is left alone)."""
    parse = getattr(twisted_http, "_parseContentType", None)
    if parse is not None and not hasattr(parse, "cache_info"):
        twisted_http._parseContentType = functools.lru_cache(maxsize=32)(parse)


class PlaygroundServer(Server):  # type: ignore[misc]
    def __init__(
        self,
        *args: Any,
        ready_callable: Callable[[], None] | None = None,
        close_timeout: float = CLOSE_HANDSHAKE_SECONDS,
        shutdown_timeout: float = SHUTDOWN_SECONDS,
        **kw: Any,
    ) -> None:
        # The websocket factory exists only once run() starts; the ready hook
        # is called after it is made and before the first connection.
        super().__init__(*args, ready_callable=self._configure, **kw)
        remember_content_types()
        self.then_ready = ready_callable
        self.close_timeout = close_timeout
        self.shutdown_timeout = shutdown_timeout

    def _configure(self) -> None:
        self.ws_factory.protocol = PatientProtocol
        self.ws_factory.setProtocolOptions(closeHandshakeTimeout=CHECK_SECONDS)
        if self.then_ready is not None:
            self.then_ready()

    def kill_all_applications(self) -> defer.Deferred:
        """daphne's trigger before the reactor stops, which cancels every
        application at once: end the runs in flight first."""
        return defer.Deferred.fromFuture(asyncio.ensure_future(self._shut_down()))

    async def _shut_down(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_timeout
        await inflight.land_all(self.shutdown_timeout)
        await self._drain(deadline)

        # As daphne, but an application it has reaped already is no error.
        left = [app for _, app in self._applications() if not app.done()]
        for app in left:
            app.cancel()
        log.info("cancelled %d application instances left", len(left))
        await asyncio.gather(*left, return_exceptions=True)

    async def _drain(self, deadline: float) -> None:
        """Until `deadline`, let HTTP applications answer (a run stopped is a
        503) and Twisted write what was sent (that, and a websocket's close):
        the reactor drops both as it stops."""
        loop = asyncio.get_running_loop()
        answering = [app for protocol, app in self._applications()
                     if not isinstance(protocol, WebSocketProtocol)]  # fmt: skip
        if answering:
            await asyncio.wait(answering, timeout=max(deadline - loop.time(), 0))
        while reactor.getWriters() and loop.time() < deadline:
            await asyncio.sleep(DRAIN_CHECK_SECONDS)

    def _applications(self) -> list[tuple[Any, asyncio.Future[None]]]:
        return [(protocol, details["application_instance"])
                for protocol, details in self.connections.items()
                if "application_instance" in details]  # fmt: skip


def seconds(text: str) -> float:
    """A command-line duration: a number of seconds greater than zero."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds greater than zero"
        )
    return value


class PlaygroundCommandLine(CommandLineInterface):  # type: ignore[misc]
    description = "The playground's web server: daphne, patient with slow readers"

    def __init__(self) -> None:
        super().__init__()
        self.parser.prog = "python -m playground.serve"
        self.parser.add_argument(
            "--websocket-close-timeout",
            type=seconds,
            default=CLOSE_HANDSHAKE_SECONDS,
            help="Seconds a closing websocket may go without its client reading "
            "before it is cut off (default 30)",
        )
        self.parser.add_argument(
            "--shutdown-timeout",
            type=seconds,
            default=SHUTDOWN_SECONDS,
            help="Seconds a stopping server waits for the runs it stops to be "
            "recorded (default 5)",
        )

    def run(self, args: list[str]) -> None:
        # daphne's run() parses the arguments again and builds the server.
        options = self.parser.parse_args(args)
        self.server_class = partial(
            PlaygroundServer,
            close_timeout=options.websocket_close_timeout,
            shutdown_timeout=options.shutdown_timeout,
        )
        super().run(args)


if __name__ == "__main__":
    PlaygroundCommandLine.entrypoint()
