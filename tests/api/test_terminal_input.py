"""Input through the websocket's terminal arrives byte for byte: long lines
whole, control bytes as data, and only close_stdin ends it. Clients without
an Origin header (API libraries) may connect; a foreign page may not."""

import json

import pytest
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from tests.api.test_connect import connected, init, stdin

READER = """
import sys
data = sys.stdin.buffer.read()
print(len(data), repr(data[:8]), repr(data[-8:]))
"""


def expected(data: str) -> str:
    raw = data.encode()
    return f"{len(raw)} {raw[:8]!r} {raw[-8:]!r}\n"


@pytest.mark.parametrize(
    ("data", "frames"),
    [
        ("x" * 10_000 + "\n", 1),
        ("y" * 10_000, 7),
        ("a\x03b\x04c\x16d\n\x04\n", 1),
        ("\x04 at the start", 1),
        ("no newline at the end", 1),
        ("", 1),
    ],
)
async def test_terminal_input_arrives_unchanged(data, frames):
    async with connected() as session:
        await session.send(init("python", READER))
        step = max(1, len(data) // frames)
        for start in range(0, len(data), step):
            await session.send(stdin(data[start : start + step]))
        await session.send({"type": "close_stdin"})
        assert await session.until_closed() == 4999
    assert session.text("stdout") == expected(data)


async def test_input_given_in_init_then_closed_arrives_unchanged():
    numbers = " ".join(str(n) for n in range(2000)) + "\n"
    source = "n = list(map(int, input().split()))\nprint(len(n), sum(n))"
    async with connected() as session:
        await session.send(init("python", source, stdin=numbers))
        await session.send({"type": "close_stdin"})
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "2000 1999000\n"


async def test_api_clients_without_origin_may_connect():
    communicator = WebsocketCommunicator(application, "/api/v2/connect")
    accepted, _ = await communicator.connect()
    assert accepted
    await communicator.send_to(text_data=json.dumps(init("bash", "echo hi")))
    assert json.loads(await communicator.receive_from())["type"] == "runtime"
    await communicator.disconnect()


async def test_a_foreign_page_may_not_connect():
    headers = [(b"origin", b"https://evil.invalid")]
    communicator = WebsocketCommunicator(application, "/api/v2/connect", headers)
    accepted, _ = await communicator.connect()
    assert not accepted


async def test_the_socket_path_may_end_in_a_slash_and_others_are_refused():
    for path, accepted in (("/api/v2/connect/", True),
                           ("/api/v2/piston/connect", True),
                           ("/api/v2/nowhere", False)):  # fmt: skip
        communicator = WebsocketCommunicator(application, path)
        connected_, _ = await communicator.connect()
        assert connected_ is accepted, path
        await communicator.disconnect()
