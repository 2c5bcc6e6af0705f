"""When a part fails: a worker killed mid-run, Redis restarted, a browser or a
web process gone, no worker at all. Each run ends clearly, nothing of it keeps
running on any host, and no run starts twice."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import websockets

from executor import relay
from executor.backends.celery import CeleryBackend
from executor.events import Finished, Output, Queued, StageExited, StageStarted
from playground.celery import publisher
from tests.conftest import _free_port
from tests.distributed.conftest import (
    Site,
    WorkerProcess,
    alive,
    forget,
    fresh,
    host_processes_with_uids,
    wait_until,
)
from tests.distributed.test_runs_on_workers import (
    SLEEPER,
    _job,
    frames_until,
    page,
    post_json,
    until_stdout,
)

REDIS_SERVER = "/usr/bin/redis-server"
LONG = "echo started; sleep 30; echo finished"


class Follower:
    """Collects a run's events, with when each arrived, in the background."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.events: list[tuple[float, Any]] = []
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        async for event in self.run.events():
            self.events.append((time.monotonic(), event))

    async def until(self, kind: type, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while not any(isinstance(e, kind) for _, e in self.events):
                if self.task.done():
                    raise AssertionError(f"the run ended: {self.events}")
                await asyncio.sleep(0.05)

    async def end(self, timeout: float) -> StageExited:
        await asyncio.wait_for(self.task, timeout)
        assert isinstance(self.events[-1][1], Finished)
        exited = self.events[-2][1]
        assert isinstance(exited, StageExited)
        return exited


@pytest.fixture
def own_pool(
    redis_settings: relay.Settings, tmp_path: Path
) -> Iterator[tuple[relay.Settings, list[WorkerProcess]]]:
    """Two workers on a queue of their own, for tests that kill things."""
    settings = fresh(redis_settings)
    pool = [WorkerProcess(settings, tmp_path / f"own{i}.log") for i in (1, 2)]
    try:
        for worker in pool:
            worker.wait_ready()
        yield settings, pool
    finally:
        for worker in pool:
            worker.stop()
        forget(settings.url, settings.prefix)


async def test_a_killed_worker_ends_its_run_as_worker_lost_and_runs_nothing_twice(
    own_pool: tuple[relay.Settings, list[WorkerProcess]],
):
    settings, pool = own_pool
    backend = CeleryBackend(settings, publisher(settings))
    follower = Follower(await backend.submit(_job(LONG)))
    await follower.until(Output)
    with redis.Redis.from_url(settings.url) as client:
        claim = client.get(relay.Keys(settings.prefix).claim(follower.run.run_id))
    holder = next(w for w in pool if w.name == claim.decode())
    other = next(w for w in pool if w is not holder)
    report = holder.report()
    assert report is not None
    first, last = report["uids"]
    assert host_processes_with_uids(first, last), "the run's sandbox is not running"

    holder.process.kill()
    exited = await follower.end(timeout=10)  # a few seconds, never a hang

    assert exited.result.status == "XX"
    assert "worker lost" in (exited.result.message or "")
    wait_until(lambda: not host_processes_with_uids(first, last), 5,
               "the killed worker's sandboxes still run")  # fmt: skip
    assert not any(alive(pid) for pid in report["supervisors"])
    await asyncio.sleep(3)  # a redelivery would have started by now
    starts = [e for _, e in follower.events if isinstance(e, StageStarted)]
    assert len(starts) == 1
    assert follower.run.run_id not in other.tail()
    assert (other.report() or {}).get("in_flight") == []
    await backend.aclose()


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        with redis.Redis.from_url(self.url) as client:
            wait_until(lambda: self._answers(client), 10, "the private Redis starts")

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_a_redis_restart_ends_runs_in_flight_and_the_next_run_works(
    private_redis: PrivateRedis, tmp_path: Path
):
    settings = relay.Settings(private_redis.url, "restart:", 30)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        report = worker.wait_ready()
        first, last = report["uids"]
        backend = CeleryBackend(settings, publisher(settings))
        follower = Follower(await backend.submit(_job(LONG)))
        await follower.until(Output)

        private_redis.stop()
        private_redis.start()
        exited = await follower.end(timeout=15)
        assert exited.result.status == "XX"
        assert "Redis" in (exited.result.message or "")
        # The worker keeps its pool of idle sandboxes; the run's must be gone.
        wait_until(lambda: not host_processes_with_uids(first, last, True), 10,
                   "the run's sandbox outlived the Redis restart")  # fmt: skip

        again = Follower(await backend.submit(_job("echo again")))
        await again.end(timeout=40)
        output = b"".join(e.data for _, e in again.events if isinstance(e, Output))
        assert output == b"again\n", (again.events, worker.tail())
        await backend.aclose()
    finally:
        worker.stop()


def idle(pool: list[WorkerProcess]) -> bool:
    reports = [w.report() or {} for w in pool]
    return all(r.get("in_flight") == [] for r in reports) and not any(
        w.sandboxes() for w in pool
    )


async def test_a_browser_that_disconnects_stops_its_run(
    redis_site: Site, workers: list[WorkerProcess]
):
    program = {"language": "python", "files": [{"content": SLEEPER}]}
    async with page(redis_site, program) as socket:
        await until_stdout(socket, "started\n")
        assert not idle(workers)
    wait_until(lambda: idle(workers), 5, "the run still holds a worker's slot")


async def test_a_web_process_killed_mid_run_leaves_no_orphan(
    redis_settings: relay.Settings, workers: list[WorkerProcess], tmp_path: Path
):
    site = Site(redis_settings, tmp_path)
    try:
        program = {"language": "python", "files": [{"content": SLEEPER}]}
        async with page(site, program) as socket:
            await until_stdout(socket, "started\n")
            site.stop(signal.SIGKILL)
            wait_until(lambda: idle(workers), 10, "a run outlived its web process")
    except Exception:
        site.stop(signal.SIGKILL)
        raise

    restarted = Site(redis_settings, tmp_path)
    try:
        status, answer = post_json(restarted, "/api/v2/execute", {
            "language": "bash", "version": "*", "files": [{"content": "echo ok"}]
        })  # fmt: skip
        assert status == 200 and answer["run"]["stdout"] == "ok\n", answer
    finally:
        restarted.stop()


async def test_a_waiting_run_learns_its_place_in_the_queue(
    redis_settings: relay.Settings, tmp_path: Path
):
    settings = fresh(redis_settings)
    worker = WorkerProcess(settings, tmp_path / "one.log",
                           PLAYGROUND_MAX_CONCURRENT_RUNS="1")  # fmt: skip
    try:
        worker.wait_ready()
        backend = CeleryBackend(settings, publisher(settings))
        busy = Follower(await backend.submit(_job(LONG)))
        await busy.until(Output)
        waiting = Follower(await backend.submit(_job("echo mine")))
        await waiting.until(Queued)
        assert [e.position for _, e in waiting.events] == [0]
        await busy.run.stop()
        await busy.end(timeout=10)
        exited = await waiting.end(timeout=15)
        assert exited.result.status is None
        await backend.aclose()
    finally:
        worker.stop()
        forget(settings.url, settings.prefix)


async def test_without_a_worker_a_run_ends_after_the_queue_timeout(
    redis_settings: relay.Settings,
):
    settings = fresh(redis_settings, queue_timeout_seconds=2)
    backend = CeleryBackend(settings, publisher(settings))
    follower = Follower(await backend.submit(_job("echo never")))
    exited = await follower.end(timeout=10)
    assert exited.result.status == "XX"
    assert "No worker took the run within 2 s" in (exited.result.message or "")
    assert not any(isinstance(e, StageStarted) for _, e in follower.events)
    await backend.aclose()
    forget(settings.url, settings.prefix)


async def test_per_client_limits_hold_across_web_processes(
    own_pool: tuple[relay.Settings, list[WorkerProcess]], tmp_path: Path
):
    # Its own prefix: a slot a killed web process held stays counted for an
    # hour, and the other tests here kill web processes of this client.
    settings, _pool = own_pool
    limits = {"PLAYGROUND_MAX_RUNS_PER_CLIENT": "2"}
    sites = [Site(settings, tmp_path, **limits) for _ in range(2)]
    key = _api_key(settings, tmp_path, limits)
    program = {"language": "python", "files": [{"content": SLEEPER}]}
    try:
        async with page(sites[0], program) as one, page(sites[1], program) as two:
            await until_stdout(one, "started\n")
            await until_stdout(two, "started\n")
            async with page(sites[0], program) as third:
                refusal = json.loads(await third.recv())
                assert refusal["type"] == "error", refusal
                assert "2 runs in flight" in refusal["message"]
            # Another client is not held up by the first one's flood.
            status, answer = _post_with_key(sites[1], key)
            assert status == 200 and answer["run"]["stdout"] == "mine\n", answer
    finally:
        for site in sites:
            site.stop()


def _api_key(settings: relay.Settings, var: Path, env: dict[str, str]) -> str:
    from tests.conftest import PROJECT
    from tests.distributed.conftest import env_for

    environ = env_for(settings, PLAYGROUND_VAR_DIR=str(var), **env)
    made = subprocess.run(
        [".venv/bin/python", "manage.py", "apikey", "create", "other-client"],
        cwd=PROJECT, env=environ, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return next(w for w in made.stdout.split() if w.startswith("pk_"))


def _post_with_key(site: Site, key: str) -> tuple[int, Any]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    body = {"language": "bash", "version": "*", "files": [{"content": "echo mine"}]}
    try:
        connection.request("POST", "/api/v2/execute", json.dumps(body),
                           {"Content-Type": "application/json",
                            "Authorization": f"Bearer {key}"})  # fmt: skip
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


async def test_a_page_session_gets_a_clear_error_when_redis_restarts(
    private_redis: PrivateRedis, tmp_path: Path
):
    settings = relay.Settings(private_redis.url, "restart-site:", 30)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    site: Site | None = None
    try:
        worker.wait_ready()
        site = Site(settings, tmp_path)
        program = {"language": "python", "files": [{"content": SLEEPER}]}
        async with page(site, program) as socket:
            await until_stdout(socket, "started\n")
            private_redis.stop()
            private_redis.start()
            seen = await frames_until(socket, lambda f: f["type"] in ("exit", "error"))
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 10)
        assert socket.close_code == 4999  # the run's record written, then closed
        assert seen[-1]["type"] == "exit", seen
        assert seen[-1]["status"] == "XX" and "Redis" in seen[-1]["message"]

        status, answer = post_json(site, "/api/v2/execute", {
            "language": "bash", "version": "*", "files": [{"content": "echo back"}]
        })  # fmt: skip
        assert status == 200 and answer["run"]["stdout"] == "back\n", answer
    finally:
        if site is not None:
            site.stop()
        worker.stop()


def test_a_run_asked_for_while_redis_is_down_gets_a_clear_refusal(
    private_redis: PrivateRedis, tmp_path: Path
):
    settings = relay.Settings(private_redis.url, "down:", 30)
    site = Site(settings, tmp_path)
    try:
        private_redis.stop()
        status, answer = post_json(site, "/api/v2/execute", {
            "language": "bash", "version": "*", "files": [{"content": "echo x"}]
        })  # fmt: skip
    finally:
        site.stop()
    assert status == 429, answer
    assert "retry in a few seconds" in answer["message"]
