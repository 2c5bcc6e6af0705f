"""The site served by daphne on a free loopback port, for the tests that need
a real server and for the benchmark, and the processes it starts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websockets

PROJECT = Path(__file__).resolve().parents[1]
START_SECONDS = 60  # a loaded machine may take that long


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def daphne(
    env: dict[str, str], *options: str, **popen: Any
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Migrate the database `env` names, start daphne with `options`, yield
    its port and process once it accepts connections, and stop it after."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                   cwd=PROJECT, env=env, check=True)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "playground.serve", *options, "-b", "127.0.0.1",
         "-p", str(port), "playground.asgi:application"],
        cwd=PROJECT, env=env, **popen,
    )  # fmt: skip
    try:
        _wait_for(port, server)
        yield port, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the site did not start") from None
            time.sleep(0.1)


def children(pid: int) -> list[int]:
    """A process's children; none if it has ended."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def cmdline(pid: int) -> bytes:
    """A process's command line, its arguments NUL-separated; empty once it
    has ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def child_running(pid: int, marker: bytes) -> int:
    """The first child of `pid` whose command line holds `marker`, or 0."""
    return next((child for child in children(pid) if marker in cmdline(child)), 0)


def supervisor_of(web_pid: int) -> int:
    """The supervisor a web process started, or 0."""
    return child_running(web_pid, b"executor.supervisor")


def zygote_of(supervisor: int) -> int:
    """A supervisor's zygote (executor/sandbox/zygote.py), or 0."""
    return child_running(supervisor, b"_playground_zygote")


async def start_run(socket: Any, source: str, language: str = "python") -> None:
    """Send `init` for `source` on an open /api/v2/connect socket."""
    init = {"type": "init", "language": language, "version": "*",
            "files": [{"content": source}]}  # fmt: skip
    await socket.send(json.dumps(init))


async def frames_until_closed(
    socket: Any, bytes_per_second: float | None = None, timeout: float = 60
) -> list[dict[str, Any]]:
    """Every frame until the server closes, read no faster than
    `bytes_per_second` if given. Piston's close 4999 is not a code websockets
    counts as normal; it ends the reading as any close does."""
    frames = []
    with contextlib.suppress(websockets.ConnectionClosedError):
        async with asyncio.timeout(timeout):
            async for raw in socket:
                frames.append(json.loads(raw))
                if bytes_per_second:
                    await asyncio.sleep(len(raw) / bytes_per_second)
    return frames
