"""The interface between the web layer and wherever runs execute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from executor.events import Event
from executor.job import Job


class RunHandle(Protocol):
    """A submitted run: its events, and the ways to steer it."""

    run_id: str

    def events(self) -> AsyncIterator[Event]: ...
    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    async def send_signal(self, signum: int) -> None: ...
    async def stop(self) -> None: ...


class Backend(Protocol):
    async def submit(self, job: Job) -> RunHandle: ...
