"""`python -m playground.serve ARGS`: the web server, daphne with its own
arguments, with a websocket close that waits for a slow reader.

Daphne keeps autobahn's 1 s limit on the close handshake, counted from when
the close frame is queued, behind any output the client has not read yet. A
page still rendering a program's 1 MiB of output takes longer than that to
reach the close, and its connection was then cut (a TCP reset), taking the
end of the output and the exit frame with it.
"""

from collections.abc import Callable
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server

# Long enough to read a capped output on a slow link; a client that never
# answers the close is cut off after this.
CLOSE_HANDSHAKE_SECONDS = 30


class PlaygroundServer(Server):  # type: ignore[misc]
    def __init__(
        self, *args: Any, ready_callable: Callable[[], None] | None = None, **kw: Any
    ) -> None:
        # The websocket factory exists only once run() starts; the ready hook
        # is called after it is made and before the first connection.
        super().__init__(*args, ready_callable=self._configure, **kw)
        self.then_ready = ready_callable

    def _configure(self) -> None:
        self.ws_factory.setProtocolOptions(
            closeHandshakeTimeout=CLOSE_HANDSHAKE_SECONDS
        )
        if self.then_ready is not None:
            self.then_ready()


class PlaygroundCommandLine(CommandLineInterface):  # type: ignore[misc]
    server_class = PlaygroundServer


if __name__ == "__main__":
    PlaygroundCommandLine.entrypoint()
