"""Host uid ranges that no two executor processes on one host share.

Each run slot and each pooled sandbox maps two host ids (its init and its
program). A worker process claims a block of `2 * slots` ids, slots being its
concurrent runs plus its pool, starting at PLAYGROUND_SANDBOX_UID_BASE, or
the next free block after it, by binding one abstract unix socket per id. The
kernel releases the sockets when the process dies, however it dies, so a
crashed worker never leaves a stale claim, and a second worker on the host
cannot take an id the first still holds.

Abstract socket names belong to a network namespace: workers in separate
containers on one host must be given distinct PLAYGROUND_SANDBOX_UID_BASE
values (docs/deployment.md says so).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from executor.errors import ConfigError
from executor.sandbox.namespaces import MAX_HOST_ID

MAX_BLOCKS = 64  # workers per host; far more than the cores of any host


@dataclass
class UidBlock:
    """Host ids first..last, held for as long as this process lives."""

    first: int
    last: int
    sockets: list[socket.socket] = field(default_factory=list, repr=False)

    def release(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()


def _hold(uid: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"\0playground-sandbox-uid-{uid}")
    except OSError:
        sock.close()
        return None
    return sock


def _try_block(first: int, count: int) -> UidBlock | None:
    block = UidBlock(first, first + count - 1)
    for uid in range(first, first + count):
        sock = _hold(uid)
        if sock is None:
            block.release()
            return None
        block.sockets.append(sock)
    return block


def claim(base: int, slots: int) -> UidBlock:
    """The first free block of ids for `slots` runs at or after `base`."""
    count = 2 * slots
    for index in range(MAX_BLOCKS):
        first = base + index * count
        if first + count - 1 > MAX_HOST_ID:
            break
        block = _try_block(first, count)
        if block is not None:
            return block
    raise ConfigError(
        f"no free block of {count} sandbox uids from PLAYGROUND_SANDBOX_UID_BASE="
        f"{base}: other executor processes on this host hold them all; stop one, "
        "or give this one another base"
    )
