"""A minimal single-threaded event loop over `selectors`: callbacks per
descriptor for readable and writable, and nothing else. The supervisor uses
it instead of asyncio so that forking from it is always safe."""

from __future__ import annotations

import selectors
from collections.abc import Callable

Callback = Callable[[], None]


class Loop:
    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.readers: dict[int, Callback] = {}
        self.writers: dict[int, Callback] = {}
        self.handled = False  # whether the last run_once ran any callback

    def watch(
        self, fd: int, read: Callback | None = None, write: Callback | None = None
    ) -> None:
        if read is not None:
            self.readers[fd] = read
        if write is not None:
            self.writers[fd] = write
        self._rearm(fd)

    def unwatch(self, fd: int, read: bool = True, write: bool = True) -> None:
        if read:
            self.readers.pop(fd, None)
        if write:
            self.writers.pop(fd, None)
        self._rearm(fd)

    def run_once(self, timeout: float | None) -> None:
        """Wait up to `timeout` seconds and run the callbacks that are due."""
        ready = self.selector.select(timeout)
        self.handled = bool(ready)
        for key, mask in ready:
            if mask & selectors.EVENT_READ and key.fd in self.readers:
                self.readers[key.fd]()
            if mask & selectors.EVENT_WRITE and key.fd in self.writers:
                self.writers[key.fd]()

    def _rearm(self, fd: int) -> None:
        mask = (selectors.EVENT_READ if fd in self.readers else 0) | (
            selectors.EVENT_WRITE if fd in self.writers else 0
        )
        registered = fd in self.selector.get_map()
        if mask and registered:
            self.selector.modify(fd, mask)
        elif mask:
            self.selector.register(fd, mask)
        elif registered:
            self.selector.unregister(fd)
