"""What the benchmark drives: a local site, and small clients for it.

The site is daphne on a free loopback port with its own SQLite database in a
temporary directory, started and stopped by the benchmark. The HTTP client
keeps one connection alive per simulated user, as a real API client would;
the websocket client is `websockets`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess  # nosec B404  # our own server, fixed argv
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websockets

from tests import servers
from tests.servers import daphne

HELLO = 'print("hello")'


def site_environment(var_dir: str) -> dict[str, str]:
    """The bench site: no per-client limits (every client is 127.0.0.1),
    a 25 MB output cap for the page, idle sockets kept open."""
    return {
        **os.environ,
        "PLAYGROUND_VAR_DIR": var_dir,
        "PLAYGROUND_RUNS_PER_SECOND": "100000",
        "PLAYGROUND_RUN_BURST": "100000",
        "PLAYGROUND_MAX_RUNS_PER_CLIENT": "100000",
        "PLAYGROUND_PAGE_OUTPUT_BYTES": str(25_000_000),
        "PLAYGROUND_INIT_TIMEOUT_MS": str(600_000),
        "PLAYGROUND_MAX_WAITING_RUNS": "2000",
    }


@contextmanager
def local_site() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Yield the site's host:port and its daphne process."""
    with tempfile.TemporaryDirectory(prefix="playground-bench-") as var_dir:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        with daphne(site_environment(var_dir), **quiet) as (port, server):
            yield f"127.0.0.1:{port}", server


def execute_body(source: str = HELLO, args: list[str] | None = None) -> bytes:
    return json.dumps(
        {
            "language": "python",
            "version": "*",
            "files": [{"content": source}],
            "args": args or [],
        }
    ).encode()


class HttpClient:
    """HTTP/1.1 with keep-alive, just enough for POST /api/v2/execute."""

    def __init__(self, address: str) -> None:
        self.host, port = address.split(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, Any]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port
            )
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length, keep = 0, True
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                keep = False
        payload = json.loads(await self.reader.readexactly(length))
        if not keep:
            await self.close()
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def websocket_run(
    address: str, source: str = HELLO, max_size: int | None = None
) -> tuple[float, float, int]:
    """Run a program over the websocket: seconds to its first output byte and
    to its run stage's exit frame, and the output bytes received."""
    started = time.perf_counter()
    first, received = 0.0, 0
    init = {"type": "init", "language": "python", "files": [{"content": source}]}
    uri = f"ws://{address}/api/v2/connect"
    async with websockets.connect(uri, max_size=max_size) as socket_:
        await socket_.send(json.dumps(init))
        async for text in socket_:
            frame = json.loads(text)
            if frame["type"] == "data" and frame["stream"] == "stdout":
                first = first or time.perf_counter() - started
                received += len(frame["data"].encode())
            elif frame["type"] == "exit" and frame["stage"] == "run":
                if frame["status"] is not None:
                    raise RuntimeError(f"the bench run failed: {frame}")
                return first, time.perf_counter() - started, received
            elif frame["type"] == "error":
                raise RuntimeError(f"the site refused the bench run: {frame}")
    raise RuntimeError("the websocket closed before the run's exit frame")


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def supervisor_of(web_pid: int) -> int:
    """The supervisor the web process started."""
    supervisor = servers.supervisor_of(web_pid)
    if not supervisor:
        raise RuntimeError("the web process has no supervisor yet")
    return supervisor
