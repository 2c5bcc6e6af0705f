"""The websocket `/api/v2/connect`: Piston's v2 interactive protocol.

    client: init -> (data | close_stdin | signal)*
    server: runtime -> (stage, data*, exit)+ -> close 4999

A bad frame gets an `error` frame and a close code; a run never outlives its
socket: a disconnect stops it. When the server shuts down, the run is stopped
and the socket closed with 1001 (going away) after its last `exit`.
"""

import asyncio
import json
import logging
import os
import signal
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from executor import config
from executor.backends import RunHandle, get_backend
from executor.errors import JobError
from executor.events import Output, Queued, Refused, StageExited, StageStarted
from executor.job import Job
from executor.requests import build_job
from executor.results import OutputCollector, StageResult
from executor.sandbox.init import FORWARDED
from playground import audit, inflight
from playground.api import throttle
from playground.api.results import RunRefused, exit_fields
from playground.registry import registry

log = logging.getLogger(__name__)

INIT_TIMEOUT_SECONDS = 5


def init_timeout_seconds() -> float:
    """How long a new socket may stay without `init`: 5 s, or
    PLAYGROUND_INIT_TIMEOUT_MS (the benchmark holds idle sockets open)."""
    raw = os.environ.get("PLAYGROUND_INIT_TIMEOUT_MS", "")
    if not raw:
        return INIT_TIMEOUT_SECONDS
    if not raw.isdigit() or int(raw) == 0:
        raise ImproperlyConfigured(
            f"PLAYGROUND_INIT_TIMEOUT_MS={raw!r} must be a whole number of "
            "milliseconds greater than zero"
        )
    return int(raw) / 1000


SIGNALS = {signal.Signals(s).name: int(s) for s in (*FORWARDED, signal.SIGKILL)}
MAX_STDIN_FRAME_BYTES = 64 * 1024
# Characters of output per data frame. JSON escapes a character into at most
# 12 bytes (an astral one as two \uXXXX escapes), so a frame stays under
# 200 KiB, well inside the 1 MiB a websocket message may hold in daphne and
# in most clients; the supervisor hands over up to 256 KiB of a pipe at once.
FRAME_CHARACTERS = 16 * 1024


class Close:
    """Close codes, as Piston numbers them."""

    ALREADY_INITIALISED = 4000
    INIT_TIMEOUT = 4001
    ERROR = 4002
    NOT_INITIALISED = 4003
    STDIN_ONLY = 4004
    INVALID_SIGNAL = 4005
    REFUSED = 4006  # an unknown key, over a client limit, or no room left
    COMPLETED = 4999
    SERVER_ERROR = 1011  # the websocket standard's code: our failure
    GOING_AWAY = 1001  # the standard's code: the server is shutting down


class RunConsumer(AsyncWebsocketConsumer):
    # A run's events come from its backend, never from the channel layer, so
    # the consumer subscribes to no channel (an alias no setting defines):
    # with Redis, an open page then holds no blocking Redis read, and a Redis
    # restart cannot end the socket before the run's own error reaches it.
    channel_layer_alias = "runs-use-no-channel-layer"
    flight: inflight.Flight | None = None  # the run, once init started it
    client: throttle.Client | None = None
    done = False  # the run ended; frames still in flight are ignored
    initialised = False  # an init arrived: no second one, no init deadline
    pump: asyncio.Task[None] | None = None
    timer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()
        self.timer = asyncio.create_task(self._init_deadline())

    async def disconnect(self, code: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.flight is None or self.done:
            return  # no run, or it has ended
        pump = self.pump
        if pump is not None and pump is not asyncio.current_task() and not pump.done():
            # Nothing more can be sent, but the record keeps the stopped
            # stage's result and the output that arrived before it.
            await inflight.stop_and_wait(self.flight, pump, inflight.CLIENT_LEFT)
        else:
            await self.flight.stop(inflight.CLIENT_LEFT)

    async def _init_deadline(self) -> None:
        await asyncio.sleep(init_timeout_seconds())
        if not self.initialised:
            await self.fail("no init frame arrived in time", Close.INIT_TIMEOUT)

    async def fail(self, message: str, code: int = Close.ERROR) -> None:
        await self.send(text_data=json.dumps({"type": "error", "message": message}))
        await self.close(code)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if self.done:
            return
        try:
            frame = json.loads(text_data) if text_data is not None else None
        except (json.JSONDecodeError, RecursionError):
            frame = None
        if not isinstance(frame, dict):
            await self.fail("frames must be JSON objects with a 'type'")
            return
        handler = {
            "init": self.on_init,
            "data": self.on_data,
            "close_stdin": self.on_close_stdin,
            "signal": self.on_signal,
        }.get(frame.get("type"))
        if handler is None:
            await self.fail(
                f"unknown frame type {frame.get('type')!r}; expected "
                "init, data, close_stdin or signal"
            )
            return
        await handler(frame)

    async def on_init(self, frame: dict[str, Any]) -> None:
        if self.initialised:
            await self.fail("the run is already initialised", Close.ALREADY_INITIALISED)
            return
        self.initialised = True
        settings = config.get()
        try:
            client = await throttle.identify(self._authorization(), self._address())
            job, runtime = build_job(
                frame,
                registry(),
                settings,
                settings.defaults["page_output_bytes"],
                interactive=True,
            )
            throttle.acquire(client)
        except throttle.Refused as exc:
            await self.fail(str(exc), Close.REFUSED)
            return
        except JobError as exc:
            await self.fail(str(exc))
            return
        self.client = client
        self.flight = inflight.Flight(await get_backend().submit(job))
        await self.send_json(
            {
                "type": "runtime",
                "language": runtime.language,
                "version": runtime.version,
            }
        )
        self.pump = asyncio.create_task(self._supervise(job, self.flight))

    async def _supervise(self, job: Job, flight: inflight.Flight) -> None:
        """Forward the run's events; leave its audit record however it ends."""
        started = timezone.now()
        results: dict[str, StageResult] = {}
        output: list[str] = []
        code = Close.COMPLETED
        async with inflight.flying(flight):
            try:
                await self._forward_events(flight.run, results, output)
            except RunRefused as exc:
                await self.fail(str(exc), Close.REFUSED)
            except Exception:
                # Our bug, not the program's: the client still gets a close
                # rather than a socket left open with nothing more to come.
                log.exception("run_id=%s the run's events could not be sent",
                              job.run_id)  # fmt: skip
                code = Close.SERVER_ERROR
            finally:
                if self.client is not None:
                    throttle.release(self.client)
                text = "".join(output)
                await audit.record(job, self._client(), self._surface(), started,
                                   results, text, flight.stopped_by)  # fmt: skip
            # Closed only once the record is written, so a client that saw the
            # end can count on it; and before the flight lands, so that a
            # server shutting down sends the close before it stops.
            if flight.stopped_by == inflight.SHUTDOWN:
                code = Close.GOING_AWAY
            await self.close(code)

    def _address(self) -> str | None:
        return (self.scope.get("client") or [None])[0]

    def _authorization(self) -> str:
        headers = dict(self.scope.get("headers", []))
        return headers.get(b"authorization", b"").decode("latin-1")

    def _client(self) -> str:
        session = self.scope.get("session")
        key = session.session_key if session else None
        name = self.client.name if self.client else audit.client_of(self._address())
        return f"{name}, session {key[:12]}" if key else name

    def _surface(self) -> str:
        # Browsers always send Origin; API clients usually do not.
        headers = dict(self.scope.get("headers", []))
        return "page" if b"origin" in headers else "websocket"

    async def _require_run(self) -> RunHandle | None:
        if self.flight is None:
            await self.fail("send init first", Close.NOT_INITIALISED)
            return None
        return self.flight.run

    async def on_data(self, frame: dict[str, Any]) -> None:
        if (run := await self._require_run()) is None:
            return
        data = frame.get("data")
        if frame.get("stream") != "stdin":
            await self.fail("only stdin can be written", Close.STDIN_ONLY)
        elif not isinstance(data, str) or len(data) > MAX_STDIN_FRAME_BYTES:
            await self.fail(
                f"data must be a string of at most {MAX_STDIN_FRAME_BYTES} characters"
            )
        else:
            await run.write_stdin(data.encode("utf-8", "surrogatepass"))

    async def on_close_stdin(self, frame: dict[str, Any]) -> None:
        if (run := await self._require_run()) is not None:
            await run.close_stdin()

    async def on_signal(self, frame: dict[str, Any]) -> None:
        if (run := await self._require_run()) is None:
            return
        signum = SIGNALS.get(str(frame.get("signal")))
        if signum is None:
            await self.fail(
                f"invalid signal {frame.get('signal')!r}; one of {sorted(SIGNALS)}",
                Close.INVALID_SIGNAL,
            )
            return
        await run.send_signal(signum)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content))

    async def _forward_events(
        self, run: RunHandle, results: dict[str, StageResult], kept: list[str]
    ) -> None:
        output = OutputCollector()
        keep = audit.content_enabled()
        async for event in run.events():
            if isinstance(event, Refused):
                raise RunRefused(event.reason)
            if isinstance(event, Queued):
                await self.send_json({"type": "queue", "position": event.position})
            elif isinstance(event, StageStarted):
                output = OutputCollector()
                await self.send_json({"type": "stage", "stage": event.stage})
            elif isinstance(event, Output):
                if text := output.feed(event.stream, event.data):
                    if keep:
                        kept.append(text)
                    await self.send_data(event.stream, text)
            elif isinstance(event, StageExited):
                await self._flush(output, event.result.truncated_streams())
                result = results[event.stage] = event.result
                truncated = result.stdout_truncated or result.stderr_truncated
                await self.send_json(
                    {
                        "type": "exit",
                        "stage": event.stage,
                        **exit_fields(result),
                        "truncated": truncated,
                    }
                )
        self.done = True

    async def _flush(self, output: OutputCollector, cut: set[str]) -> None:
        for stream in ("stdout", "stderr"):
            if stream in cut:
                continue  # a character split by the cap is dropped, not replaced
            if text := output.feed(stream, b"", final=True):
                await self.send_data(stream, text)

    async def send_data(self, stream: str, text: str) -> None:
        for start in range(0, len(text), FRAME_CHARACTERS):
            piece = text[start : start + FRAME_CHARACTERS]
            await self.send_json({"type": "data", "stream": stream, "data": piece})


class NoSuchSocket(AsyncWebsocketConsumer):
    """Any other websocket path: refused at the handshake (HTTP 403)."""

    async def connect(self) -> None:
        await self.close()
