"""Output that JSON escapes into six bytes a character still reaches the
client, in frames the server may send and a default client may receive.

The supervisor reads up to 256 KiB of a pipe at once. Control characters and
invalid bytes (each shown as U+FFFD) are escaped as `\\uXXXX`, so one chunk
of them is about 1.5 MiB of JSON: past the 1 MiB a websocket message may
hold in daphne (and in most clients). The server refused to send it, and
the page saw neither the rest of the output, nor the exit frame, nor the
close.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets

from tests.servers import frames_until_closed, start_run

# 256 KiB written at once: one chunk for the supervisor.
PROGRAMS = {
    "control characters": "import sys\nsys.stdout.write(chr(0) * 262144)\n",
    "invalid bytes": "import sys\nsys.stdout.buffer.write(b'\\xff' * 262144)\n",
}
EXPECTED = {"control characters": "\0", "invalid bytes": "\ufffd"}


async def run(site: str, source: str) -> tuple[list[dict[str, Any]], int | None]:
    url = site.replace("http://", "ws://") + "/api/v2/connect"
    # The client's default limit on a message, 1 MiB, is daphne's too.
    async with websockets.connect(url) as socket:
        await start_run(socket, source)
        frames = await frames_until_closed(socket, timeout=30)
    return frames, socket.close_code


@pytest.mark.parametrize("kind", sorted(PROGRAMS))
def test_escaped_output_arrives_with_its_exit_frame(site: str, kind: str) -> None:
    frames, code = asyncio.run(run(site, PROGRAMS[kind]))

    assert [f["type"] for f in frames if f["type"] != "data"][-1:] == ["exit"]
    assert code == 4999
    stdout = "".join(f["data"] for f in frames if f["type"] == "data")
    assert stdout == EXPECTED[kind] * 262144
