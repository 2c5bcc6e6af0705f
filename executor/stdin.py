"""Bytes waiting to reach a run's stdin, and how the end of input is sent.

A pipe ends by being closed. A terminal cannot be closed without hanging up
the program's stdout too, so its end is the terminal's EOF character: one ^D
ends input at the start of a line; a partial line needs a first ^D to push
it to the program and a second to signal the end.
"""

from __future__ import annotations

import os

EOF_BYTE = b"\x04"
MAX_PENDING_BYTES = 1 << 20


class StdinFeed:
    def __init__(self, data: bytes, closing: bool) -> None:
        self.pending = bytearray(data[:MAX_PENDING_BYTES])
        self.closing = closing
        self.eof_queued = False
        self.at_line_start = True

    def add(self, data: bytes) -> None:
        """Queue input; past the cap or after the end, it is dropped."""
        if not self.closing:
            room = MAX_PENDING_BYTES - len(self.pending)
            self.pending += data[: max(room, 0)]

    def close(self) -> None:
        self.closing = True

    @property
    def finished(self) -> bool:
        """Everything, including the end of input, has been handed over."""
        return self.closing and not self.pending

    def write_to(self, fd: int, terminal: bool) -> bool:
        """Write what `fd` takes now; True while bytes remain for later."""
        if terminal and self.closing and not self.eof_queued:
            self.pending += EOF_BYTE if self._ends_a_line() else EOF_BYTE * 2
            self.eof_queued = True
        if not self.pending:
            return False
        try:
            written = os.write(fd, self.pending)
        except BlockingIOError:
            return True
        except OSError:
            self.pending.clear()  # the program closed its stdin or ended
            return False
        self.at_line_start = self.pending[written - 1 : written] in (b"\n", EOF_BYTE)
        del self.pending[:written]
        return bool(self.pending)

    def _ends_a_line(self) -> bool:
        if self.pending:
            return self.pending.endswith(b"\n")
        return self.at_line_start
