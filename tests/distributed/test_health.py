"""A worker that cannot run programs takes no run, and `manage.py check`
names an unreachable Redis."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from executor import relay
from playground.checks import distributed_services
from tests.conftest import _free_port
from tests.distributed.conftest import WorkerProcess, forget, fresh


def _cgroup_this_host_lacks() -> str:
    has_v1 = Path("/sys/fs/cgroup/memory").is_dir()
    return "v2" if has_v1 else "v1"


def test_a_worker_whose_supervisor_cannot_start_shuts_down(
    redis_settings: relay.Settings, tmp_path: Path
):
    settings = fresh(redis_settings)
    worker = WorkerProcess(settings, tmp_path / "broken.log",
                           PLAYGROUND_CGROUP=_cgroup_this_host_lacks())  # fmt: skip
    try:
        worker.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.stop()
        raise AssertionError(f"the broken worker ran on:\n{worker.tail()}") from None
    finally:
        forget(settings.url, settings.prefix)
    assert "cannot run programs" in worker.tail()
    assert "no cgroup" in worker.tail()


def test_check_names_an_unreachable_redis(monkeypatch: pytest.MonkeyPatch):
    nobody = f"redis://127.0.0.1:{_free_port()}/0"  # a loopback port we hold none on
    monkeypatch.setenv("PLAYGROUND_REDIS_URL", nobody)
    [error] = distributed_services(None)
    assert error.id == "playground.E006"
    assert "does not answer" in error.msg


def test_check_accepts_a_redis_that_answers(
    monkeypatch: pytest.MonkeyPatch, redis_settings: relay.Settings
):
    monkeypatch.setenv("PLAYGROUND_REDIS_URL", redis_settings.url)
    assert distributed_services(None) == []


def test_check_names_a_malformed_redis_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PLAYGROUND_REDIS_URL", "127.0.0.1:6379")
    [error] = distributed_services(None)
    assert error.id == "playground.E001"
    assert "must start with redis://" in error.msg


async def test_a_job_a_worker_cannot_read_ends_at_once_with_a_clear_error(
    redis_settings: relay.Settings, workers: list[WorkerProcess]
):
    from executor.backends.celery import CeleryBackend
    from executor.events import StageExited
    from playground.celery import publisher
    from tests.distributed.test_runs_on_workers import _job

    publish = publisher(redis_settings)
    # As a web host of another version might send it.
    backend = CeleryBackend(
        redis_settings, lambda job: publish({**job, "stages": "not stages"})
    )
    run = await backend.submit(_job("echo never"))
    events = [event async for event in run.events()]
    await backend.aclose()
    exited = events[-2]
    assert isinstance(exited, StageExited) and exited.result.status == "XX"
    assert "same version" in (exited.result.message or "")
