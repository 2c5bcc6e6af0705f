"""The distributed backend: runs go to Celery workers through Redis.

The web process publishes each job as a Celery task and follows the run's
event stream in Redis (see executor.relay for the keys). It keeps a lease on
the run while it follows it; the worker that claims the run keeps one too.
If the worker's lease lapses before the run finished, the run ends with
status XX "worker lost"; if the web's lapses, the worker stops the run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from executor import relay
from executor.events import Event, Finished, Queued, StageExited, StageStarted
from executor.job import Job
from executor.results import StageResult

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], None]
# redis-py types its replies as unions of every decoding mode; this client
# does not decode, so replies are bytes, and the code says so where it reads.
Client = Any
POLL_MILLISECONDS = 250
# A worker's lease may be missing for a moment right after its claim.
CLAIM_GRACE_SECONDS = 1.0


def _xx(message: str) -> StageResult:
    return StageResult("XX", None, None, message, 0, 0, 0)


WORKER_LOST = _xx("The worker running the program was lost (worker lost)")
STOPPED = StageResult(
    "SG", None, "SIGKILL", "Stopped before a worker started it", 0, 0, 0
)


class CeleryRun:
    """A run on some worker, followed through its Redis streams."""

    def __init__(self, backend: CeleryBackend, job: Job) -> None:
        self.run_id = job.run_id
        self.backend = backend
        self.keys = backend.keys
        self.redis = backend.client()
        self.last_stage = job.stages[0].name
        self.claimed_at: float | None = None
        self.position: int | None = None
        self.deadline = time.monotonic() + backend.settings.queue_timeout_seconds
        self.keeper: asyncio.Task[None] | None = None
        self.lost: StageResult | None = None

    async def events(self) -> AsyncIterator[Event]:
        last = "0-0"
        try:
            while self.lost is None:
                entries = await self._read(last, POLL_MILLISECONDS)
                for entry_id, event in entries:
                    last = entry_id
                    yield event
                    if isinstance(event, Finished):
                        await self._forget()
                        return
                if not entries:
                    if (queued := await self._check()) is not None:
                        yield queued
        except RedisError as exc:
            log.error("run_id=%s lost contact with Redis: %s", self.run_id, exc)
            self.lost = _xx(f"Lost contact with the run queue (Redis): {exc}")
        finally:
            self._end_keeper()
        log.error("run_id=%s ended as our failure: %s", self.run_id, self.lost)
        yield StageExited(self.last_stage, self.lost or WORKER_LOST)
        yield Finished()

    async def _read(self, last: str, block: int | None) -> list[tuple[str, Event]]:
        reply = await self.redis.xread({self.keys.events(self.run_id): last},
                                       count=256, block=block)  # fmt: skip
        found = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                event = relay.decode_event(fields)
                if isinstance(event, StageStarted):
                    self.last_stage = event.stage
                found.append((entry_id.decode(), event))
        return found

    async def _check(self) -> Queued | None:
        """Nothing arrived for a while: learn why."""
        claim = await self.redis.get(self.keys.claim(self.run_id))
        if claim is None:
            return await self._still_queued()
        if self.claimed_at is None:
            self.claimed_at = time.monotonic()
            log.info("run_id=%s claimed by worker %s", self.run_id, claim.decode())
        if time.monotonic() - self.claimed_at < CLAIM_GRACE_SECONDS:
            return None
        if not await self.redis.exists(self.keys.worker_lease(self.run_id)):
            # Its last events may have landed just before the lease went.
            if not await self._read_tail_has_finished():
                self.lost = WORKER_LOST
        return None

    async def _read_tail_has_finished(self) -> bool:
        stream = self.keys.events(self.run_id)
        tail = await self.redis.xrevrange(stream, count=1)
        return bool(tail) and relay.decode_event(tail[0][1]) == Finished()

    async def _still_queued(self) -> Queued | None:
        if time.monotonic() > self.deadline:
            timeout = self.backend.settings.queue_timeout_seconds
            await self._abandon(
                _xx(
                    f"No worker took the run within {timeout} s; the program did "
                    "not start. Try again later"
                )  # fmt: skip
            )
            return None
        rank = await self.redis.zrank(self.keys.queued, self.run_id)
        if rank is None or rank == self.position:
            return None
        self.position = int(rank)
        return Queued(self.position)

    async def _abandon(self, result: StageResult) -> bool:
        """End a run no worker has claimed; False if a worker just did."""
        taken = await self.redis.set(self.keys.claim(self.run_id), relay.ABANDONED,
                                     nx=True, ex=relay.KEEP_SECONDS)  # fmt: skip
        if not taken:
            return False
        await self.redis.zrem(self.keys.queued, self.run_id)
        for event in (StageExited(self.last_stage, result), Finished()):
            await self.backend.append_event(self.redis, self.run_id, event)
        return True

    async def _forget(self) -> None:
        """The run is over: its streams and leases go (they expire anyway)."""
        try:
            await self.redis.delete(*self.keys.of_run(self.run_id))
        except RedisError as exc:
            log.warning("run_id=%s keys left to expire: %s", self.run_id, exc)

    def _end_keeper(self) -> None:
        if self.keeper is not None:
            self.keeper.cancel()

    async def _command(self, kind: str, payload: bytes = b"", signum: int = 0) -> None:
        fields = relay.encode_command(kind, payload, signum)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self.keys.control(self.run_id), fields)
                pipe.expire(self.keys.control(self.run_id), relay.KEEP_SECONDS)
                await pipe.execute()
        except RedisError as exc:
            log.error("run_id=%s %s not delivered: %s", self.run_id, kind, exc)

    async def write_stdin(self, data: bytes) -> None:
        await self._command("stdin", data)

    async def close_stdin(self) -> None:
        await self._command("close_stdin")

    async def send_signal(self, signum: int) -> None:
        await self._command("signal", signum=signum)

    async def stop(self) -> None:
        # Without the web's lease the worker stops the run too, even if this
        # run's events are never read (a client gone before they were).
        self._end_keeper()
        try:
            if await self._abandon(STOPPED):
                log.info("run_id=%s stopped before a worker took it", self.run_id)
                return
        except RedisError as exc:
            log.error("run_id=%s stop not delivered: %s", self.run_id, exc)
            return
        await self._command("stop")


class CeleryBackend:
    """Publishes jobs as Celery tasks; follows their runs in Redis."""

    def __init__(self, settings: relay.Settings, publish: Publish) -> None:
        self.settings = settings
        self.keys = relay.Keys(settings.prefix)
        self.publish = publish
        self.clients: dict[asyncio.AbstractEventLoop, Client] = {}

    def client(self) -> Client:
        """This loop's Redis client; it reconnects by itself after a restart."""
        loop = asyncio.get_running_loop()
        if loop not in self.clients:
            self.clients[loop] = aioredis.Redis.from_url(
                self.settings.url, socket_connect_timeout=2, health_check_interval=5
            )
        return self.clients[loop]

    async def append_event(self, client: Client, run_id: str, event: Event) -> None:
        stream = self.keys.events(run_id)
        async with client.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, relay.encode_event(event))
            pipe.expire(stream, relay.KEEP_SECONDS)
            await pipe.execute()

    async def submit(self, job: Job) -> CeleryRun:
        run = CeleryRun(self, job)
        try:
            await self._enqueue(run, job)
        except Exception as exc:  # the broker's errors vary with its transport
            log.error("run_id=%s not queued: %s", job.run_id, exc)
            run.lost = _xx(
                "The run queue (Redis) cannot be reached; the program did not "
                "start. Try again in a moment"
            )
            return run
        run.keeper = asyncio.create_task(self._keep_lease(run))
        return run

    async def _enqueue(self, run: CeleryRun, job: Job) -> None:
        client = run.redis
        lease = self.keys.web_lease(job.run_id)
        await client.set(lease, "1", ex=relay.LEASE_SECONDS)
        await client.zadd(self.keys.queued, {job.run_id: time.time()})
        await asyncio.to_thread(self.publish, job.to_wire())
        log.info("run_id=%s queued for a worker", job.run_id)

    async def _keep_lease(self, run: CeleryRun) -> None:
        lease = self.keys.web_lease(run.run_id)
        while True:
            await asyncio.sleep(relay.REFRESH_SECONDS)
            try:
                await run.redis.set(lease, "1", ex=relay.LEASE_SECONDS)
            except RedisError as exc:
                log.warning("run_id=%s lease not refreshed: %s", run.run_id, exc)

    async def aclose(self) -> None:
        client = self.clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
