"""A worker validates what it takes from Redis instead of trusting it: a job
published straight onto the queue (anyone who can write to Redis can) with
host paths, limits or a runtime the site would never give ends as XX before
anything of it runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import redis

from executor import relay
from executor.backends.celery import CeleryBackend
from executor.events import Output, StageStarted
from playground.celery import publisher
from tests.distributed.conftest import WorkerProcess
from tests.distributed.test_failures import Follower
from tests.distributed.test_runs_on_workers import _job

Wire = dict[str, Any]


def _host_path(wire: Wire) -> None:
    wire["readonly_paths"] = ["/root"]


def _huge_limits(wire: Wire) -> None:
    wire["stages"][-1]["limits"]["wall_time_ms"] = 10**9
    wire["stages"][-1]["limits"]["memory_bytes"] = 1 << 42


def _unknown_runtime(wire: Wire) -> None:
    wire["language"] = "bash\nrun_id=forged"


def _env_not_a_mapping(wire: Wire) -> None:
    wire["env"] = ["PATH=/tmp"]


def _escaping_file_name(wire: Wire) -> None:
    wire["files"][0]["name"] = "../../etc/cron.d/x"


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_host_path, "refused"),
        (_huge_limits, "refused"),
        (_unknown_runtime, "refused"),
        (_escaping_file_name, "same version"),
        (_env_not_a_mapping, "same version"),
    ],
)
async def test_a_tampered_job_never_runs(
    redis_settings: relay.Settings,
    workers: list[WorkerProcess],
    tamper: Callable[[Wire], None],
    says: str,
) -> None:
    publish = publisher(redis_settings)

    def tampered(wire: Wire) -> None:
        tamper(wire)
        publish(wire)

    backend = CeleryBackend(redis_settings, tampered)
    try:
        follower = Follower(await backend.submit(_job("ls -d /root; echo ran")))
        exited = await follower.end(timeout=20)
    finally:
        await backend.aclose()

    assert exited.result.status == "XX", follower.events
    assert says in (exited.result.message or ""), exited.result.message
    assert not any(isinstance(e, StageStarted) for _, e in follower.events)


@pytest.mark.parametrize(
    "entry",
    [{"type": "signal", "signal": "TERM"}, {"p": b"no type"}, {"type": b"\xff"}],
)
async def test_a_malformed_command_leaves_the_run_steerable(
    redis_settings: relay.Settings,
    workers: list[WorkerProcess],
    entry: dict[str, Any],
) -> None:
    backend = CeleryBackend(redis_settings, publisher(redis_settings))
    job = dataclasses.replace(_job("echo started; read line; echo got $line"),
                              interactive=True)  # fmt: skip
    try:
        follower = Follower(await backend.submit(job))
        await follower.until(Output)
        control = relay.Keys(redis_settings.prefix).control(job.run_id)
        with redis.Redis.from_url(redis_settings.url) as client:
            client.xadd(control, entry)
        await follower.run.write_stdin(b"hi\n")
        exited = await follower.end(timeout=20)
    finally:
        await backend.aclose()

    output = b"".join(e.data for _, e in follower.events if isinstance(e, Output))
    assert b"got hi" in output, follower.events
    assert exited.result.status is None, exited.result
