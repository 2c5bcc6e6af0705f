"""A server told to stop (SIGTERM) ends the runs in flight first: each leaves
its audit record, saying the shutdown stopped it, and each client is told:
a websocket gets its last `exit` and the close 1001 (going away), an HTTP
client a 503 that says to run it again."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import websockets

from tests.servers import (
    PROJECT,
    daphne,
    frames_until_closed,
    free_port,
    start_run,
    supervisor_of,
)

# Prints until it is stopped, well inside the time and output limits below.
ENDLESS = "import time\nwhile True:\n    print('x', flush=True)\n    time.sleep(0.05)\n"
PAYLOAD = {"language": "python", "version": "*", "files": [{"content": ENDLESS}]}
HELLO = {"language": "python", "version": "*", "files": [{"content": "print('hello')"}]}
RUNS_EACH_WAY = 3


def test_every_run_stopped_by_a_shutdown_is_recorded_and_its_client_told(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PLAYGROUND_VAR_DIR": str(tmp_path / "var"),
           "PLAYGROUND_RUN_WALL_TIME_MS": "60000"}  # as a websocket's run  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("wb") as stderr, daphne(env, stderr=stderr) as (port, server):
        sockets, answers = asyncio.run(run_then_stop(port, server, log))

    for frames, close in sockets:
        assert close == 1001, close
        assert frames[-1]["type"] == "exit" and frames[-1]["status"] == "SG"
    for status, body in answers:
        assert status == 503 and "run it again" in body["message"]
    records = audit_records(env)
    started = started_runs(log)
    assert len(started) == 2 * RUNS_EACH_WAY
    for run_id in started:
        record = records[run_id]
        assert (record["stopped_by"], record["status"]) == ("shutdown", "SG")
        assert [stage["status"] for stage in record["stages"]] == ["SG"]


async def run_then_stop(
    port: int, server: subprocess.Popen[bytes], log: Path
) -> tuple[list[Any], list[Any]]:
    sockets = [asyncio.create_task(on_websocket(port)) for _ in range(RUNS_EACH_WAY)]
    answers = [asyncio.create_task(over_http(port)) for _ in range(RUNS_EACH_WAY)]
    deadline = time.monotonic() + 30
    while len(started_runs(log)) < 2 * RUNS_EACH_WAY:
        assert time.monotonic() < deadline, "the runs did not all start"
        await asyncio.sleep(0.05)

    server.send_signal(signal.SIGTERM)

    ended = await asyncio.gather(asyncio.gather(*sockets), asyncio.gather(*answers))
    assert await asyncio.to_thread(server.wait, 30) == 0
    return ended[0], ended[1]


async def on_websocket(port: int) -> tuple[list[dict[str, Any]], int | None]:
    url = f"ws://127.0.0.1:{port}/api/v2/connect"
    async with websockets.connect(url) as socket:
        await start_run(socket, ENDLESS)
        frames = await frames_until_closed(socket)
    return frames, socket.close_code


async def over_http(port: int, payload: Any = PAYLOAD) -> tuple[int, dict[str, Any]]:
    def post() -> tuple[int, dict[str, Any]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("POST", "/api/v2/execute", json.dumps(payload),
                               {"Content-Type": "application/json"})  # fmt: skip
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    return await asyncio.to_thread(post)


def started_runs(log: Path) -> set[str]:
    return set(re.findall(r"run_id=(\w+) started language=", log.read_text()))


def audit_records(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    dumped = subprocess.run(
        [sys.executable, "manage.py", "dumpdata", "playground.RunRecord"],
        cwd=PROJECT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return {row["fields"]["run_id"]: row["fields"] for row in json.loads(dumped.stdout)}


# The site as `make run` leaves it in a terminal: SIGINT at its default, so
# that Ctrl-C reaches it, whatever the test runner's own was.
WITH_CTRL_C = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
               "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")  # fmt: skip


def test_ctrl_c_stops_the_site_and_leaves_nothing(tmp_path: Path) -> None:
    # Ctrl-C signals the terminal's whole process group. Only the server may
    # take it: the supervisor stops when the server does, in order, and its
    # zygote and sandboxes' inits must not forward it to programs.
    env = {**os.environ, "PLAYGROUND_VAR_DIR": str(tmp_path / "var")}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                   cwd=PROJECT, env=env, check=True)  # fmt: skip
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-c", WITH_CTRL_C, "-m", "playground.serve",
             "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
            cwd=PROJECT, env=env, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        try:
            supervisor = asyncio.run(two_runs(port, server))
            os.killpg(server.pid, signal.SIGINT)
            assert server.wait(timeout=30) == 0
        finally:
            server.kill()
            server.wait()

    deadline = time.monotonic() + 10  # it stops once the server has gone
    while Path(f"/proc/{supervisor}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{supervisor}").exists()
    assert not list(Path("/sys/fs/cgroup").glob(f"*/playground-{supervisor}"))
    said = log.read_text()
    assert "Traceback" not in said and " ERROR " not in said, said


async def two_runs(port: int, server: subprocess.Popen[bytes]) -> int:
    """Runs that leave the pool warm (and its zygote started); the server's
    supervisor."""
    deadline = time.monotonic() + 60
    while not supervisor_of(server.pid):  # started by the first run
        assert time.monotonic() < deadline, "the site did not start"
        await asyncio.sleep(0.1)
        with contextlib.suppress(OSError):
            await over_http(port, HELLO)
    for _ in range(2):
        _, answer = await over_http(port, HELLO)
        assert answer["run"]["stdout"] == "hello\n"
    await asyncio.sleep(0.5)  # the pool refills
    return supervisor_of(server.pid)
