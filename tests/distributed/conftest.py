"""Real Celery worker processes and a real Redis, for the distributed backend.

Every session uses its own Redis key prefix (and a database number of its
own), so other suites on the same Redis never see its queue, and it deletes
its keys at the end. Workers are started and stopped here; tests that kill
one start their own.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from executor import relay
from executor.backends.celery import CeleryBackend
from playground.celery import publisher
from tests.conftest import PROJECT, _free_port, sandbox_processes

# PLAYGROUND_TEST_REDIS_URL points the suite at another Redis (a private one).
SHARED_REDIS = os.environ.get("PLAYGROUND_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
WORKER_UID_BASE = 3_000_000
WORKER_SLOTS = 3


def ping(url: str) -> None:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} does not answer ({exc}); start it with "
                    "scripts/services.sh (make test does)")  # fmt: skip


def forget(url: str, prefix: str) -> None:
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def env_for(settings: relay.Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PLAYGROUND_REDIS_URL": settings.url,
        "PLAYGROUND_REDIS_PREFIX": settings.prefix,
        "PLAYGROUND_QUEUE_TIMEOUT_SECONDS": str(settings.queue_timeout_seconds),
        "PLAYGROUND_SANDBOX_UID_BASE": str(WORKER_UID_BASE),
        "PLAYGROUND_MAX_CONCURRENT_RUNS": str(WORKER_SLOTS),
        **extra,
    }


# Every process these tests start, so that none outlives the session even
# when a test or fixture fails before it could stop what it started.
STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(scope="session", autouse=True)
def no_process_left() -> Iterator[None]:
    yield
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.wait()


class WorkerProcess:
    """`celery -A playground worker`, started and stopped by a test."""

    def __init__(self, settings: relay.Settings, log: Path, **env: str) -> None:
        self.settings = settings
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "playground", "worker",
                   "--without-mingle", "--without-gossip", "--without-heartbeat",
                   "-n", f"{log.stem}@%h", "-l", "INFO"]  # fmt: skip
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=PROJECT, env=env_for(settings, **env),
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        STARTED.append(self.process)
        self.name = f"{os.uname().nodename}:{self.process.pid}"

    def report(self) -> dict[str, Any] | None:
        with redis.Redis.from_url(self.settings.url) as client:
            raw = client.get(relay.Keys(self.settings.prefix).worker(self.name))
        return json.loads(raw) if raw else None

    def wait_ready(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.report()
            if report and report["health"] == "ok" and report["supervisors"]:
                return report
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker did not start:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def sandboxes(self) -> list[tuple[int, int]]:
        report = self.report() or {}
        return sandbox_processes(set(report.get("supervisors", [])))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def redis_settings() -> Iterator[relay.Settings]:
    ping(SHARED_REDIS)
    prefix = f"playground-test-{secrets.token_hex(4)}:"
    yield relay.Settings(SHARED_REDIS, prefix, queue_timeout_seconds=30)
    forget(SHARED_REDIS, prefix)


@pytest.fixture(scope="session")
def workers(
    redis_settings: relay.Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[WorkerProcess]]:
    """Two worker processes on this host, with the same uid base."""
    logs = tmp_path_factory.mktemp("workers")
    pool = [WorkerProcess(redis_settings, logs / f"w{i}.log") for i in (1, 2)]
    try:
        for worker in pool:
            worker.wait_ready()
        yield pool
    finally:
        for worker in pool:
            worker.stop()


@pytest.fixture(scope="session")
async def celery_backend(
    redis_settings: relay.Settings,
) -> AsyncIterator[CeleryBackend]:
    backend = CeleryBackend(redis_settings, publisher(redis_settings))
    yield backend
    await backend.aclose()


class Site:
    """The web server (playground.serve) with the distributed backend, on a
    free loopback port."""

    def __init__(self, settings: relay.Settings, var: Path, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = env_for(settings, PLAYGROUND_VAR_DIR=str(var), **env)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                       cwd=PROJECT, env=environ, check=True)  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "playground.serve", "-b", "127.0.0.1", "-p",
             str(self.port), "playground.asgi:application"],
            cwd=PROJECT, env=environ,
        )  # fmt: skip
        STARTED.append(self.process)
        self._wait()

    def _wait(self) -> None:
        import socket

        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise AssertionError("the site did not start") from None
                time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def redis_site(
    redis_settings: relay.Settings,
    workers: list[WorkerProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    site = Site(redis_settings, tmp_path_factory.mktemp("redis-site"))
    yield site
    site.stop()


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {what}")
        time.sleep(0.1)


def fresh(settings: relay.Settings, queue_timeout_seconds: int = 30) -> relay.Settings:
    """Settings with a prefix of their own: a queue no other worker reads."""
    prefix = f"{settings.prefix}{secrets.token_hex(3)}:"
    return relay.Settings(settings.url, prefix, queue_timeout_seconds)


def host_processes_with_uids(
    first: int, last: int, runs_only: bool = False
) -> list[int]:
    """Pids of live processes on the host whose uid lies in first..last. A
    zombie runs nothing; it waits for whichever ancestor reaps orphans. With
    `runs_only`, idle pooled sandboxes (in a "pool-N" group) are left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            uid = int(status.split("\nUid:\t", 1)[1].split()[0])
            pooled = "/pool-" in (entry / "cgroup").read_text()
        except (OSError, IndexError):
            continue
        if runs_only and pooled:
            continue
        if first <= uid <= last and "\nState:\tZ" not in status:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}/status").exists()
        and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    )
