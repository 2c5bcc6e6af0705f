"""What the web process and a Celery worker share in Redis about a run.

    web process                         Redis                    worker
    submit: lease web, queue  --> runs:queued (sorted set)
            Celery task       --> broker queue           --> claim (SET NX)
    follow: XREAD             <-- run:ID:events (stream)  <-- XADD each event
    steer:  XADD              --> run:ID:control (stream) --> XREAD, to supervisor
    leases: run:ID:web (refreshed by the web), run:ID:worker (by the worker);
            either side ends the run when the other's lease expires.
    workers: worker:NAME (a heartbeat with capacity and runs in flight)

Streams keep order and lose nothing while a reader is slow; the claim makes
sure that a run starts at most once, whatever the broker redelivers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from executor import events, messages
from executor.errors import ConfigError
from executor.events import (
    Event,
)

# A lease lasts this long unless refreshed; it is refreshed every third of it.
LEASE_SECONDS = 3
REFRESH_SECONDS = 1.0
# Streams and claims outlive their run a little, for a late reader.
KEEP_SECONDS = 3600
ABANDONED = "abandoned"  # the claim value when the web gave up waiting


@dataclass(frozen=True)
class Settings:
    """Where Redis is and which key prefix this deployment uses."""

    url: str
    prefix: str
    queue_timeout_seconds: int


def settings_from(env: Mapping[str, str]) -> Settings | None:
    """The Redis settings, or None when the site runs embedded."""
    url = env.get("PLAYGROUND_REDIS_URL", "")
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"PLAYGROUND_REDIS_URL={url!r} must start with redis://, rediss:// "
            "or unix://"
        )
    raw = env.get("PLAYGROUND_QUEUE_TIMEOUT_SECONDS", "") or "60"
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(
            f"PLAYGROUND_QUEUE_TIMEOUT_SECONDS={raw!r} must be a whole number "
            "of seconds greater than zero"
        )
    prefix = env.get("PLAYGROUND_REDIS_PREFIX", "") or "playground:"
    return Settings(url, prefix, int(raw))


class Keys:
    """The Redis key names of one deployment (one prefix)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.queued = f"{prefix}runs:queued"
        self.workers = f"{prefix}worker:"

    def events(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:events"

    def control(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:control"

    def claim(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:claim"

    def web_lease(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:web"

    def worker_lease(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:worker"

    def worker(self, name: str) -> str:
        return f"{self.workers}{name}"

    def of_run(self, run_id: str) -> list[str]:
        return [
            self.events(run_id),
            self.control(run_id),
            self.web_lease(run_id),
            self.worker_lease(run_id),
        ]


def encode_event(event: Event) -> dict[str, Any]:
    """Stream fields for an event: a JSON header and the output bytes."""
    header, payload = events.to_wire(event)
    return {"h": json.dumps(header), "p": payload}


def decode_event(fields: dict[bytes, bytes]) -> Event:
    return events.from_wire(json.loads(fields[b"h"]), fields.get(b"p", b""))


def encode_command(kind: str, payload: bytes = b"", signum: int = 0) -> dict[str, Any]:
    """Control stream fields: stdin (with bytes), close_stdin, signal, stop."""
    return {"type": kind, "p": payload, "signal": signum}


def decode_command(fields: dict[bytes, bytes]) -> messages.Frame:
    header: dict[str, Any] = {"type": fields[b"type"].decode()}
    header["signal"] = int(fields.get(b"signal", b"0"))
    return messages.Frame(header, fields.get(b"p", b""))
