"""Runs on two real Celery worker processes through the real Redis: the page's
websocket, the HTTP API, many runs at once, and the hosts' uids."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
import websockets

from executor import relay
from executor.backends.celery import CeleryBackend
from tests.conftest import execute, idle_pool_processes, process_uid
from tests.distributed.conftest import Site, WorkerProcess, wait_until

ECHO = (
    "import sys\nprint('ready', flush=True)\n"
    "for line in sys.stdin:\n    print('got', line.strip(), flush=True)\n"
    "print('eof', flush=True)\n"
)
SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(30)\n"


@asynccontextmanager
async def page(site: Site, program: dict[str, Any]) -> AsyncIterator[Any]:
    """A websocket session as the page opens it, initialised with `program`."""
    url = f"ws://127.0.0.1:{site.port}/api/v2/connect"
    origin = f"http://127.0.0.1:{site.port}"
    connecting = websockets.connect(url, origin=origin)  # type: ignore[arg-type]
    async with connecting as socket:
        await socket.send(json.dumps({"type": "init", "version": "*", **program}))
        yield socket


async def frames_until(socket: Any, done: Any, timeout: float = 15) -> list[Any]:
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            seen.append(frame)
            if done(frame):
                return seen


async def until_stdout(socket: Any, text: str, timeout: float = 15) -> None:
    """Read frames until the stdout received so far contains `text`."""
    received: list[str] = []

    def arrived(frame: dict[str, Any]) -> bool:
        if frame["type"] == "data" and frame["stream"] == "stdout":
            received.append(frame["data"])
        return text in "".join(received)

    await frames_until(socket, arrived, timeout)


def claims(settings: relay.Settings, run_ids: list[str]) -> Counter[str]:
    keys = relay.Keys(settings.prefix)
    with redis.Redis.from_url(settings.url) as client:
        return Counter(client.get(keys.claim(r)).decode() for r in run_ids)


async def test_a_page_session_streams_takes_stdin_and_stops(redis_site: Site):
    program = {"language": "python", "files": [{"content": ECHO}]}
    async with page(redis_site, program) as socket:
        await until_stdout(socket, "ready\n")
        await socket.send(json.dumps({"type": "data", "stream": "stdin",
                                      "data": "one\n"}))  # fmt: skip
        await until_stdout(socket, "got one\n", timeout=5)
        await socket.send(json.dumps({"type": "signal", "signal": "SIGKILL"}))
        ending = await frames_until(socket, lambda f: f["type"] == "exit")
    assert ending[-1]["signal"] == "SIGKILL", ending


async def test_stdin_end_of_file_reaches_the_worker(redis_site: Site):
    source = "import sys\nprint('ready', flush=True)\nprint(len(sys.stdin.read()))\n"
    program = {"language": "python", "files": [{"content": source}]}
    async with page(redis_site, program) as socket:
        await until_stdout(socket, "ready\n")
        await socket.send(json.dumps({"type": "data", "stream": "stdin",
                                      "data": "abc\n"}))  # fmt: skip
        await socket.send(json.dumps({"type": "close_stdin"}))
        seen = await frames_until(socket, lambda f: f["type"] == "exit")
    assert "".join(f.get("data", "") for f in seen) == "4\n"
    assert seen[-1]["code"] == 0


def post_json(site: Site, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        connection.request("POST", path, json.dumps(body),
                           {"Content-Type": "application/json"})  # fmt: skip
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_http_execute_returns_the_full_result(redis_site: Site):
    source = 'read x; echo "out $x"; echo err >&2; exit 3'
    body = {"language": "bash", "version": "*", "stdin": "in\n",
            "files": [{"content": source}]}  # fmt: skip
    status, answer = post_json(redis_site, "/api/v2/execute", body)
    assert status == 200, answer
    result = answer["run"]
    assert result["stdout"] == "out in\n"
    assert result["stderr"] == "err\n"
    assert result["code"] == 3 and result["status"] == "RE"


async def test_fifty_concurrent_runs_spread_over_the_workers(
    workers: list[WorkerProcess], celery_backend: CeleryBackend
):
    programs = [f"echo run {i}; echo {i} >&2" for i in range(50)]
    results = await asyncio.gather(
        *(execute(celery_backend, "bash", source) for source in programs)
    )
    for i, stages in enumerate(results):
        assert stages["run"]["stdout"] == f"run {i}\n", stages
        assert stages["run"]["stderr"] == f"{i}\n"
        assert stages["run"]["status"] is None
    wait_until(lambda: all(w.report()["in_flight"] == [] for w in workers), 5,
               "the workers' heartbeats show no run in flight")  # fmt: skip


async def test_runs_land_on_both_workers(
    workers: list[WorkerProcess],
    celery_backend: CeleryBackend,
    redis_settings: relay.Settings,
):
    # Sleeping runs hold their slot, so the second worker must take some.
    runs = [await celery_backend.submit(_job("sleep 1; echo done")) for _ in range(6)]
    await asyncio.gather(*(_drain(run) for run in runs))
    by_worker = claims(redis_settings, [run.run_id for run in runs])
    assert set(by_worker) == {w.name for w in workers}, by_worker


async def test_two_workers_on_one_host_use_disjoint_uids(
    workers: list[WorkerProcess], celery_backend: CeleryBackend
):
    ranges = []
    for worker in workers:
        report = worker.report()
        assert report is not None
        first, last = report["uids"]
        # Two host ids for each run slot and each pooled sandbox.
        assert last - first + 1 == 2 * (report["capacity"] + report["pool"])
        ranges.append(set(range(first, last + 1)))
    assert not ranges[0] & ranges[1], "two workers hold the same host uids"

    runs = [await celery_backend.submit(_job("sleep 3")) for _ in range(6)]
    wait_until(lambda: all(len(w.sandboxes()) >= 2 for w in workers), 15,
               "both workers run sandboxes")  # fmt: skip
    seen = [{uid for _, uid in w.sandboxes() if uid != 0} for w in workers]
    for uids, allowed in zip(seen, ranges, strict=True):
        assert uids and uids <= allowed, (uids, allowed)
    for worker, allowed in zip(workers, ranges, strict=True):
        supervisors = set((worker.report() or {}).get("supervisors", []))
        pooled = {process_uid(pid) for pid in idle_pool_processes(supervisors)}
        assert pooled - {0} <= allowed, ("a pooled sandbox outside", pooled)
    for run in runs:
        await run.stop()
    await asyncio.gather(*(_drain(run) for run in runs))


def _job(source: str) -> Any:
    from executor import config
    from executor.requests import build_job
    from playground.registry import registry

    payload = {"language": "bash", "version": "*", "files": [{"content": source}]}
    job, _ = build_job(payload, registry(), config.get(), 65536)
    return job


async def _drain(run: Any) -> list[Any]:
    return [event async for event in run.events()]


async def test_long_output_arrives_whole_in_order_once(
    workers: list[WorkerProcess], celery_backend: CeleryBackend
):
    source = "import sys\nfor i in range(60000):\n    sys.stdout.write(f'{i}\\n')\n"
    stages = await execute(celery_backend, "python", source, output_bytes=1 << 20)
    expected = "".join(f"{i}\n" for i in range(60000))
    assert stages["run"]["status"] is None, stages["run"]["message"]
    assert stages["run"]["stdout"] == expected


async def test_output_caps_apply_on_the_workers(
    workers: list[WorkerProcess], celery_backend: CeleryBackend
):
    stages = await execute(celery_backend, "bash", "yes x | head -c 100000",
                           output_bytes=1000)  # fmt: skip
    assert stages["run"]["status"] == "OL"
    assert stages["run"]["stdout"] == "x\n" * 500
