"""The worker side of the distributed backend, inside one Celery worker process.

    Celery worker process (thread pool: one thread per task)
      | each task waits on ...
    the run loop (one asyncio thread): claims runs, relays events and
      | commands between Redis and ...
    this process's own supervisor (executor.backends.local) -> sandboxes

The run loop's thread lives as long as the process: the supervisor's
parent-death signal fires when the thread that started it ends, and a
SIGKILLed worker takes its supervisor, and with it every sandbox, along.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import socket
import threading
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from executor import config, messages, relay, uids
from executor.admission import RUN_ID, admit
from executor.backends.local import LocalBackend, LocalRun
from executor.errors import BackendError, ExecutorError
from executor.events import Finished, StageExited
from executor.job import Job
from executor.results import StageResult
from executor.runtimes import Registry

log = logging.getLogger(__name__)

CONTROL_BLOCK_MILLISECONDS = 100
UNREADABLE = (
    "The worker could not read this run; the program did not start. Workers "
    "and web hosts must run the same version of the playground"
)
REFUSED = "The worker refused this run; the program did not start: "
HEARTBEAT_SECONDS = 1.0


class Worker:
    """Runs claimed jobs on this process's supervisor."""

    def __init__(self, settings: relay.Settings) -> None:
        base = config.get()
        self.block = uids.claim(base.sandbox_uid_base, base.host_id_slots)
        self.config = dataclasses.replace(base, sandbox_uid_base=self.block.first)
        self.settings = settings
        self.keys = relay.Keys(settings.prefix)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.backend = LocalBackend(self.config, self.block)
        self.registry = Registry.load(self.config.runtimes_dir)
        self.in_flight: set[str] = set()
        self.health = "starting"
        self.checked = threading.Event()
        self.started = time.time()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="playground-runs", daemon=True
        )
        self.thread.start()
        self.redis = self._call(self._connect())
        self.heartbeat = asyncio.run_coroutine_threadsafe(self._beat(), self.loop)
        log.info("worker %s runs sandboxes with host uids %d..%d", self.name,
                 self.block.first, self.block.last)  # fmt: skip

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def _connect(self) -> Any:  # replies are bytes; see backends.celery
        return aioredis.Redis.from_url(
            self.settings.url, socket_connect_timeout=2, health_check_interval=5
        )

    # -- the Celery task's entry point -------------------------------------

    def execute(self, job_wire: dict[str, Any]) -> None:
        """Run one job to its end; called from a Celery pool thread."""
        try:
            job = Job.from_wire(job_wire)
        except (KeyError, TypeError, ValueError, AttributeError, ExecutorError) as exc:
            self._call(self._unreadable(job_wire, exc, UNREADABLE))
            return
        try:
            admit(job, self.registry, self.config)
        except ExecutorError as exc:
            self._call(self._unreadable(job_wire, exc, REFUSED + str(exc)))
            return
        self._call(self._execute(job))

    async def _unreadable(
        self, job_wire: dict[str, Any], exc: Exception, message: str
    ) -> None:
        """A job this worker cannot read (a web host of another version?) or
        will not run ends at once with a clear error, not waiting in vain."""
        run_id = str(job_wire.get("run_id", "")) if isinstance(job_wire, dict) else ""
        log.error("run_id=%r job not run: %r", run_id or "?", exc)
        if not RUN_ID.fullmatch(run_id) or not await self._claim(run_id):
            return
        stage = "run"
        result = StageResult("XX", None, None, message, 0, 0, 0)
        stream = self.keys.events(run_id)
        try:
            for event in (StageExited(stage, result), Finished()):
                await self.redis.xadd(stream, relay.encode_event(event))
            await self.redis.expire(stream, relay.KEEP_SECONDS)
        except RedisError as error:
            log.error("run_id=%s error not delivered: %s", run_id, error)
        await self._release(run_id)

    async def _execute(self, job: Job) -> None:
        if not await self._claim(job.run_id):
            return
        self.in_flight.add(job.run_id)
        try:
            run = await self.backend.submit(job)
            steering = asyncio.create_task(self._steer(run))
            try:
                await self._relay(run)
            finally:
                steering.cancel()
                await asyncio.gather(steering, return_exceptions=True)
        finally:
            self.in_flight.discard(job.run_id)
            await self._release(job.run_id)

    async def _claim(self, run_id: str) -> bool:
        """Take the run unless another worker (or the web) already has, and
        only while someone still waits for it."""
        keys = self.keys
        try:
            taken = await self.redis.set(keys.claim(run_id), self.name, nx=True,
                                         ex=relay.KEEP_SECONDS)  # fmt: skip
            if not taken:
                log.warning("run_id=%s already claimed; not run again", run_id)
                return False
            await self.redis.set(keys.worker_lease(run_id), self.name,
                                 ex=relay.LEASE_SECONDS)  # fmt: skip
            await self.redis.zrem(keys.queued, run_id)
            if await self.redis.exists(keys.web_lease(run_id)):
                return True
        except RedisError as exc:
            log.error("run_id=%s cannot be claimed: %s", run_id, exc)
            return False
        log.info("run_id=%s dropped: nobody waits for it any more", run_id)
        await self._release(run_id)
        return False

    async def _release(self, run_id: str) -> None:
        try:
            await self.redis.delete(self.keys.worker_lease(run_id))
        except RedisError as exc:
            log.warning("run_id=%s lease not released: %s", run_id, exc)

    # -- events out, commands in -------------------------------------------

    async def _relay(self, run: LocalRun) -> None:
        """Every event goes to the run's stream, in order; if Redis fails the
        run is stopped, and the rest of its events are drained."""
        stream = self.keys.events(run.run_id)
        failed = False
        async for event in run.events():
            if failed:
                continue
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.xadd(stream, relay.encode_event(event))
                    pipe.expire(stream, relay.KEEP_SECONDS)
                    await pipe.execute()
            except RedisError as exc:
                log.error("run_id=%s stopped: events cannot reach Redis: %s",
                          run.run_id, exc)  # fmt: skip
                failed = True
                await run.stop()
            if isinstance(event, Finished):
                return

    async def _steer(self, run: LocalRun) -> None:
        """Forward commands to the supervisor; keep the lease; stop the run
        when its web process no longer follows it."""
        last = "0-0"
        next_check = 0.0
        try:
            while True:
                last = await self._forward_commands(run, last)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + relay.REFRESH_SECONDS
                    if not await self._renew(run.run_id):
                        log.warning("run_id=%s stopped: its web process is gone",
                                    run.run_id)  # fmt: skip
                        await run.stop()
                        return
        except RedisError as exc:
            log.error("run_id=%s stopped: Redis is unreachable: %s", run.run_id, exc)
            await run.stop()
        except Exception:
            # Nothing would steer the run or keep its lease: stop it rather
            # than leave it running while its client hears "worker lost".
            log.exception("run_id=%s stopped: steering failed", run.run_id)
            await run.stop()

    async def _forward_commands(self, run: LocalRun, last: str) -> str:
        stream = self.keys.control(run.run_id)
        reply = await self.redis.xread({stream: last}, block=CONTROL_BLOCK_MILLISECONDS)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id.decode()
                try:
                    frame = relay.decode_command(fields)
                except (KeyError, ValueError) as exc:  # UnicodeError is one
                    # Skipped, not fatal: this loop also keeps the lease.
                    log.warning("run_id=%s command with fields %r skipped: %r",
                                run.run_id, sorted(fields), exc)  # fmt: skip
                    continue
                await self._command(run, frame)
        return last

    async def _command(self, run: LocalRun, frame: messages.Frame) -> None:
        if frame.type == "stdin":
            await run.write_stdin(frame.payload)
        elif frame.type == "close_stdin":
            await run.close_stdin()
        elif frame.type == "signal":
            await run.send_signal(int(frame.header["signal"]))
        elif frame.type == "stop":
            await run.stop()

    async def _renew(self, run_id: str) -> bool:
        """Refresh this worker's lease; False once the web's has lapsed."""
        await self.redis.set(self.keys.worker_lease(run_id), self.name,
                             ex=relay.LEASE_SECONDS)  # fmt: skip
        return bool(await self.redis.exists(self.keys.web_lease(run_id)))

    # -- health ------------------------------------------------------------

    async def _beat(self) -> None:
        """Say every second that this worker lives, what it can take and
        whether its supervisor starts; the key expires if it dies."""
        await self._check_supervisor()
        while True:
            try:
                await self.redis.set(self.keys.worker(self.name),
                                     json.dumps(self.report()),
                                     ex=relay.LEASE_SECONDS)  # fmt: skip
            except RedisError as exc:
                log.warning("worker %s heartbeat failed: %s", self.name, exc)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _check_supervisor(self) -> None:
        try:
            # Started now rather than at the first run: a broken host shows
            # in `manage.py status` before anyone's program fails on it.
            await self.backend._connection()
            self.health = "ok"
        except BackendError as exc:
            self.health = f"the supervisor cannot start: {exc}"
            log.error("worker %s is unhealthy: %s", self.name, self.health)
        self.checked.set()

    def healthy(self, timeout: float) -> bool:
        """Whether the supervisor started, once that is known."""
        return self.checked.wait(timeout) and self.health == "ok"

    def report(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": os.getpid(),
            "capacity": self.config.max_concurrent_runs,
            "pool": self.config.pool_size,
            "in_flight": sorted(self.in_flight),
            "health": self.health,
            "uids": [self.block.first, self.block.last],
            "supervisors": self.backend.supervisor_pids(),
            "started": self.started,
        }
