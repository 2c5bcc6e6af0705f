"""A client that reads slower than a program writes still gets every frame.

The server queues the output, the exit frame and its close behind what the
client has not read yet. The close must wait for the client to read that
queue and answer, or the connection is cut with the end of the output and the
exit frame still unsent: the page would say "Connection lost" after a
program that only printed a lot.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from tests.servers import daphne, frames_until_closed, start_run

# A page's output cap (1 MiB) of short lines, printed as fast as Python can.
FLOOD = "for i in range(10**6):\n    print(i)\n"


@pytest.fixture(scope="module")
def served(site_env: dict[str, str]) -> Iterator[int]:
    with daphne(site_env) as (port, _):
        yield port


async def read_slowly(port: int, pause: float) -> list[dict[str, Any]]:
    """Run FLOOD, stop reading for `pause` seconds after the first frame,
    then read every frame until the server closes."""
    url = f"ws://127.0.0.1:{port}/api/v2/connect"
    # A small queue makes the client stop reading the socket while it pauses.
    async with websockets.connect(url, max_queue=4) as socket:
        await start_run(socket, FLOOD)
        frames = [json.loads(await socket.recv())]
        await asyncio.sleep(pause)
        frames += await frames_until_closed(socket)
        frames.append({"type": "closed", "code": socket.close_code})
    return frames


def test_a_slow_reader_gets_the_exit_frame_and_the_close(served: int) -> None:
    frames = asyncio.run(read_slowly(served, pause=3))

    exits = [f for f in frames if f["type"] == "exit"]
    assert len(exits) == 1, [f["type"] for f in frames[-5:]]
    assert exits[0]["status"] == "OL" and exits[0]["truncated"] is True
    assert frames[-1] == {"type": "closed", "code": 4999}
    stdout = "".join(f["data"] for f in frames if f["type"] == "data")
    assert len(stdout) >= 1024 * 1024 - 16, "output queued for the client was lost"


# 1 MiB of control characters: about 6 MiB of JSON, each escaped as \u0000.
ESCAPED_FLOOD = "import sys\nsys.stdout.write(chr(0) * 2**20)\n"
PATIENCE_SECONDS = "2"  # far less than reading ESCAPED_FLOOD takes below


@pytest.fixture(scope="module")
def patient(site_env: dict[str, str]) -> Iterator[int]:
    with daphne(site_env, "--websocket-close-timeout", PATIENCE_SECONDS) as (port, _):
        yield port


async def read_steadily(port: int, per_second: int) -> list[dict[str, Any]]:
    """Run ESCAPED_FLOOD and read it at `per_second` bytes, as over a slow
    link: a small receive buffer leaves the rest queued at the server."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    raw.connect(("127.0.0.1", port))
    raw.setblocking(False)
    url = f"ws://127.0.0.1:{port}/api/v2/connect"
    async with websockets.connect(url, sock=raw, max_queue=1) as client:
        await start_run(client, ESCAPED_FLOOD)
        frames = await frames_until_closed(client, per_second, timeout=120)
        frames.append({"type": "closed", "code": client.close_code})
    return frames


def test_a_reader_slower_than_the_close_limit_still_gets_everything(
    patient: int,
) -> None:
    # The close is queued at once, behind 6 MiB; reading them takes about
    # four times the limit, but the client never stops reading for long.
    frames = asyncio.run(read_steadily(patient, per_second=800_000))

    assert [f["type"] for f in frames[-2:]] == ["exit", "closed"], frames[-2:]
    assert frames[-1]["code"] == 4999
    stdout = "".join(f["data"] for f in frames if f["type"] == "data")
    assert stdout == "\0" * 2**20
