"""The embedded backend: a supervisor subprocess per event loop.

The web process starts `python -m executor.supervisor` with a scrubbed
environment and one end of a socket pair; frames go both ways over it. If the
supervisor dies, every run in flight ends with status XX and the next run
starts a new supervisor.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

# subprocess starts the supervisor with a fixed argv, never a shell.
import subprocess  # nosec B404
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

from executor import events, messages, uids
from executor.config import PROJECT_DIR, Config
from executor.errors import BackendError, ConfigError
from executor.events import (
    Event,
    Finished,
    StageExited,
    StageStarted,
)
from executor.job import Job
from executor.results import StageResult

log = logging.getLogger(__name__)

LOST = StageResult(
    "XX", None, None, "The executor was lost while the program ran", 0, 0, 0
)
UNAVAILABLE = StageResult(
    "XX",
    None,
    None,
    "The executor is unavailable; the program did not start",
    0,
    0,
    0,
)
START_TIMEOUT_SECONDS = 30


class LocalRun:
    def __init__(self, connection: SupervisorConnection | None, job: Job) -> None:
        self.run_id = job.run_id
        self.connection = connection
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.last_stage = job.stages[0].name
        self.done = False

    async def events(self) -> AsyncIterator[Event]:
        while True:
            event = await self.queue.get()
            yield event
            if isinstance(event, Finished):
                return

    def deliver(self, event: Event) -> None:
        if isinstance(event, StageStarted):
            self.last_stage = event.stage
        self.done = self.done or isinstance(event, Finished)
        self.queue.put_nowait(event)

    def lose(self, result: StageResult = LOST) -> None:
        """The supervisor is gone: end this run as our own failure."""
        if not self.done:
            self.deliver(StageExited(self.last_stage, result))
            self.deliver(Finished())

    async def _send(self, header: Mapping[str, Any], payload: bytes = b"") -> None:
        if self.connection is not None and not self.done:
            await self.connection.send(header, payload)

    async def write_stdin(self, data: bytes) -> None:
        await self._send(messages.RunCommand(type="stdin", run_id=self.run_id), data)

    async def close_stdin(self) -> None:
        await self._send(messages.RunCommand(type="close_stdin", run_id=self.run_id))

    async def send_signal(self, signum: int) -> None:
        await self._send(
            messages.SignalCommand(type="signal", run_id=self.run_id, signal=signum)
        )

    async def stop(self) -> None:
        await self._send(messages.RunCommand(type="stop", run_id=self.run_id))


class SupervisorConnection:
    """One supervisor process and the socket to it.

    The supervisor runs sandboxes as the host uids of a block this process
    holds (`block`, or one claimed at start), so no other supervisor on the
    host uses them at the same time.
    """

    def __init__(self, config: Config, block: uids.UidBlock | None = None) -> None:
        self.config = config
        self.given = block
        self.block = block
        self.runs: dict[str, LocalRun] = {}
        self.alive = False
        self.process: subprocess.Popen[bytes] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        if self.block is None:
            try:
                self.block = uids.claim(
                    self.config.sandbox_uid_base, self.config.host_id_slots
                )
            except ConfigError as exc:
                log.error("the supervisor cannot start: %s", exc)
                raise BackendError(str(exc)) from exc
        ours, theirs = socket.socketpair()
        try:
            self.process = self._spawn(theirs)
        except OSError as exc:
            raise BackendError(f"cannot start the supervisor: {exc}") from exc
        finally:
            theirs.close()
        reader, self.writer = await asyncio.open_unix_connection(sock=ours)
        decoder = messages.Decoder()
        try:
            first = await asyncio.wait_for(
                self._first_frame(reader, decoder), START_TIMEOUT_SECONDS
            )
        except TimeoutError:
            first = None
        if first is None or first.type != "ready":
            await self._refuse(first)
        self.alive = True
        loop = asyncio.get_running_loop()
        self.reader_task = loop.create_task(self._read(reader, decoder))
        log.info("supervisor started pid=%s", self.process.pid)

    def _spawn(self, theirs: socket.socket) -> subprocess.Popen[bytes]:
        """Start the supervisor with nothing of this process's environment."""
        command = [
            sys.executable, "-m", "executor.supervisor",
            "--control-fd", str(theirs.fileno()),
            "--parent-pid", str(os.getpid()),
            "--cgroup", self.config.cgroup_version,
            "--cgroup-parent", self.config.cgroup_parent or "",
            "--uid-base", str(self._uid_base()),
            "--slots", str(self.config.max_concurrent_runs),
            "--max-waiting", str(self.config.max_waiting_runs),
            "--pool-size", str(self.config.pool_size),
            "--zygote", "on" if self.config.zygote else "off",
            "--workdir-bytes", str(self.config.defaults["workdir_bytes"]),
        ]  # fmt: skip
        # Our own supervisor: a fixed argv, no shell. A session of its own:
        # a terminal's Ctrl-C (or any signal to this process's group) stops
        # the server, which then stops the supervisor in order; it must not
        # reach the supervisor, its zygote or its sandboxes' inits, which
        # would forward it to every program.
        return subprocess.Popen(  # nosec B603
            command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                 "PYTHONPATH": str(PROJECT_DIR), "PYTHONDONTWRITEBYTECODE": "1"},
            start_new_session=True,
        )  # fmt: skip

    def _uid_base(self) -> int:
        # start() claims the block before it spawns the supervisor.
        assert self.block is not None  # nosec B101
        return self.block.first

    async def _first_frame(
        self, reader: asyncio.StreamReader, decoder: messages.Decoder
    ) -> messages.Frame | None:
        while data := await reader.read(65536):
            for frame in decoder.feed(data):
                return frame
        return None

    async def _refuse(self, frame: messages.Frame | None) -> None:
        reason = "it exited or hung before saying it was ready"
        if frame is not None:
            reason = str(frame.header.get("reason", reason))
        log.error("the supervisor cannot run programs: %s", reason)
        await self.close()
        raise BackendError(reason)

    async def _read(
        self, reader: asyncio.StreamReader, decoder: messages.Decoder
    ) -> None:
        try:
            while data := await reader.read(65536):
                for frame in decoder.feed(data):
                    run = self.runs.get(frame.header.get("run_id", ""))
                    if run is not None:
                        run.deliver(events.from_wire(frame.header, frame.payload))
                        if frame.type == "finished":
                            del self.runs[run.run_id]
        except (OSError, messages.FrameError) as exc:
            log.error("supervisor connection failed: %s", exc)
        self._lost()

    def _lost(self) -> None:
        self.alive = False
        code = self.process.poll() if self.process else None
        if self.runs:
            log.error(
                "supervisor exited (code %s) with %d runs in flight",
                code,
                len(self.runs),
            )
        for run in list(self.runs.values()):
            run.lose()
        self.runs.clear()

    async def send(self, header: Mapping[str, Any], payload: bytes = b"") -> None:
        if not self.alive or self.writer is None:
            return
        try:
            self.writer.write(messages.encode(header, payload))
            await self.writer.drain()
        except OSError as exc:
            log.error("supervisor connection failed: %s", exc)
            self._lost()

    async def submit(self, job: Job) -> LocalRun:
        run = LocalRun(self, job)
        self.runs[job.run_id] = run
        await self.send(messages.Start(type="start", job=job.to_wire()))
        if not self.alive:
            run.lose()
        return run

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.process is not None:
            if self.process.poll() is None and not self.alive:
                self.process.kill()
            await asyncio.get_running_loop().run_in_executor(None, self.process.wait)
        if self.alive:
            await self.reader_task
        if self.block is not None and self.given is None:
            self.block.release()  # its sandboxes died with the supervisor
            self.block = None


class LocalBackend:
    """Runs jobs on a supervisor subprocess of this process."""

    def __init__(self, config: Config, block: uids.UidBlock | None = None) -> None:
        # A block given (a worker's) serves one event loop's supervisor.
        self.config = config
        self.block = block
        self.connections: dict[asyncio.AbstractEventLoop, SupervisorConnection] = {}
        self.starting: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    async def _connection(self) -> SupervisorConnection:
        # One supervisor per loop: requests that arrive while it starts wait
        # for it rather than each starting their own.
        loop = asyncio.get_running_loop()
        async with self.starting.setdefault(loop, asyncio.Lock()):
            connection = self.connections.get(loop)
            if connection is None or not connection.alive:
                if connection is not None:
                    await connection.close()  # frees its uids for the next
                connection = SupervisorConnection(self.config, self.block)
                await connection.start()
                self.connections[loop] = connection
            return connection

    async def submit(self, job: Job) -> LocalRun:
        try:
            connection = await self._connection()
        except BackendError:
            run = LocalRun(None, job)
            run.lose(UNAVAILABLE)
            return run
        return await connection.submit(job)

    def supervisor_pids(self) -> list[int]:
        return [
            c.process.pid
            for c in self.connections.values()
            if c.process is not None and c.alive
        ]

    async def aclose(self) -> None:
        """Stop this loop's supervisor; its runs end as lost."""
        connection = self.connections.pop(asyncio.get_running_loop(), None)
        if connection is not None:
            await connection.close()
