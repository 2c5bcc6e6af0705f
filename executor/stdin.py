"""Bytes waiting to reach a run's stdin, and how they cross a terminal.

A pipe takes bytes as they are and ends by being closed. A terminal (in the
line mode that makes C's stdio flush prompts) needs three things so that the
program still reads exactly the bytes sent:

- a literal ^D or ^V is escaped with ^V (the terminal's "next is literal");
- a line that grows past PUSH_BYTES gets a ^D, which hands the partial line
  to the reader without adding anything, so the terminal's 4 KiB line buffer
  never overflows and long lines arrive whole;
- the end of input is ^D at the start of a line (a ^D after a partial line
  would only push it), since closing a terminal would also hang up stdout.
"""

from __future__ import annotations

import os

EOF_BYTE = 0x04
LITERAL_NEXT = 0x16
PUSH_BYTES = 1024
MAX_PENDING_BYTES = 1 << 20


class StdinFeed:
    def __init__(self, data: bytes, closing: bool, terminal: bool = False) -> None:
        self.pending = bytearray()
        self.closing = False
        self.terminal = terminal
        self.line_bytes = 0
        self.add(data)
        if closing:
            self.close()

    def add(self, data: bytes) -> None:
        """Queue input; past the cap or after the end, it is dropped."""
        if self.closing:
            return
        room = MAX_PENDING_BYTES - len(self.pending)
        data = data[: max(room, 0)]
        self.pending += self._through_terminal(data) if self.terminal else data

    def close(self) -> None:
        if self.closing:
            return
        if self.terminal:
            push = [EOF_BYTE] if self.line_bytes else []
            self.pending += bytes([*push, EOF_BYTE])
        self.closing = True

    @property
    def finished(self) -> bool:
        """Everything, including the end of input, has been handed over."""
        return self.closing and not self.pending

    def write_to(self, fd: int) -> bool:
        """Write what `fd` takes now; True while bytes remain for later."""
        if not self.pending:
            return False
        try:
            written = os.write(fd, self.pending)
        except BlockingIOError:
            return True
        except OSError:
            self.pending.clear()  # the program closed its stdin or ended
            return False
        del self.pending[:written]
        return bool(self.pending)

    def _through_terminal(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if byte != 0x0A and self.line_bytes >= PUSH_BYTES:
                out.append(EOF_BYTE)  # hand over the partial line as it is
                self.line_bytes = 0
            if byte in (EOF_BYTE, LITERAL_NEXT):
                out.append(LITERAL_NEXT)
            out.append(byte)
            self.line_bytes = 0 if byte == 0x0A else self.line_bytes + 1
        return bytes(out)
