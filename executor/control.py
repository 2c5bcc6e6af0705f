"""The supervisor's end of the control socket: frames in, frames out.

Reads never block the supervisor's loop, and neither do writes: frames wait
in an outbox, which the loop flushes once per turn (one send for all the
frames of a turn), and until the backend reads them."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from executor import messages
from executor.loop import Loop

READ_BYTES = 65536


class ControlChannel:
    def __init__(self, sock: socket.socket, loop: Loop,
                 on_frame: Callable[[messages.Frame], None],
                 on_close: Callable[[], None]) -> None:  # fmt: skip
        self.sock = sock
        self.loop = loop
        self.on_frame = on_frame
        self.on_close = on_close
        self.decoder = messages.Decoder()
        self.outbox = bytearray()
        self.open = True
        sock.setblocking(False)
        loop.watch(sock.fileno(), read=self._readable)

    def send(self, header: Any, payload: bytes = b"") -> None:
        if self.open:
            self.outbox += messages.encode(header, payload)

    def flush(self) -> None:
        """Send what this turn of the loop queued, unless a send waits."""
        if self.outbox and self.sock.fileno() not in self.loop.writers:
            self._flush()

    def flush_blocking(self) -> None:
        """Hand over what is left before the supervisor exits."""
        self.sock.setblocking(True)
        try:
            self.sock.sendall(self.outbox)
        except OSError:
            pass

    def _readable(self) -> None:
        try:
            data = self.sock.recv(READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close()
            return
        for frame in self.decoder.feed(data):
            self.on_frame(frame)

    def _flush(self) -> None:
        try:
            sent = self.sock.send(self.outbox)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.outbox.clear()
            self._close()
            return
        del self.outbox[:sent]
        if self.outbox:
            self.loop.watch(self.sock.fileno(), write=self._flush)
        elif self.sock.fileno() in self.loop.writers:
            self.loop.unwatch(self.sock.fileno(), read=False)

    def _close(self) -> None:
        if self.open:
            self.open = False
            self.loop.unwatch(self.sock.fileno())
            self.on_close()
