"""`manage.py status` shows the workers, the runs in flight and the queue."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from django.core.management import call_command

from executor import relay
from executor.backends.celery import CeleryBackend
from tests.distributed.conftest import WorkerProcess, wait_until
from tests.distributed.test_runs_on_workers import _job


def status(monkeypatch: pytest.MonkeyPatch, settings: relay.Settings,
           *args: str) -> str:  # fmt: skip
    monkeypatch.setenv("PLAYGROUND_REDIS_URL", settings.url)
    monkeypatch.setenv("PLAYGROUND_REDIS_PREFIX", settings.prefix)
    out = io.StringIO()
    call_command("status", *args, stdout=out)
    return out.getvalue()


async def test_status_lists_workers_runs_in_flight_and_the_queue(
    monkeypatch: pytest.MonkeyPatch,
    redis_settings: relay.Settings,
    workers: list[WorkerProcess],
    celery_backend: CeleryBackend,
):
    def in_flight() -> int:
        return sum(len(w.report()["in_flight"]) for w in workers)

    wait_until(lambda: in_flight() == 0, 10, "the workers are idle")
    run = await celery_backend.submit(_job("echo started; sleep 20"))
    wait_until(lambda: in_flight() == 1, 10, "a worker reports the run")

    shown = json.loads(status(monkeypatch, redis_settings, "--json"))
    assert {w["name"] for w in shown["workers"]} == {w.name for w in workers}
    assert all(w["health"] == "ok" for w in shown["workers"])
    assert shown["capacity"] == sum(w["capacity"] for w in shown["workers"])
    assert shown["in_flight"] == 1
    assert shown["queued"] == 0
    text = status(monkeypatch, redis_settings)
    assert f"runs in flight: 1 of {shown['capacity']}" in text
    assert all(w.name in text for w in workers)

    await run.stop()
    await asyncio.wait_for(_drain(run), 10)


async def _drain(run: object) -> None:
    async for _ in run.events():  # type: ignore[attr-defined]
        pass


def test_status_without_redis_says_the_site_is_embedded(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv("PLAYGROUND_REDIS_URL", raising=False)
    out = io.StringIO()
    call_command("status", stdout=out)
    assert "embedded mode" in out.getvalue()
