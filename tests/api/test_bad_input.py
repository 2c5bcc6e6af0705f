"""Bad input always gets a clear JSON 4xx, never a 500 or a run blamed on us."""

from __future__ import annotations

import json

import pytest
from channels.testing import HttpCommunicator
from django.test import AsyncClient

from playground.asgi import application

HELLO = {"language": "python", "files": [{"content": "print(1)"}]}


async def post(body: bytes | str, **headers: str):
    client = AsyncClient()
    return await client.post("/api/v2/execute", data=body,
                             content_type="application/json", **headers)  # fmt: skip


async def asgi(method: str, path: str, body: bytes = b"",
               headers: list[tuple[bytes, bytes]] | None = None) -> dict:  # fmt: skip
    headers = headers or [(b"host", b"127.0.0.1")]
    communicator = HttpCommunicator(application, method, path, body=body,
                                    headers=headers)  # fmt: skip
    response = await communicator.get_response()
    await communicator.wait()  # the app closes the request body on its way out
    return response


def message(response) -> str:
    assert response["Content-Type"] == "application/json"
    return response.json()["message"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"run_timeout": ' + "9" * 5000 + "}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
    ],
)
async def test_bodies_that_do_not_parse_are_refused(body, says):
    response = await post(body)
    assert response.status_code == 400
    assert says in message(response)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"files": [{"name": "\ud800.py", "content": "x"}]}, "not valid Unicode"),
        ({"files": [{"name": "--version", "content": "x"}]}, "starts with '-'"),
        ({"args": ["\ud800"]}, "valid Unicode"),
        ({"args": ["x" * 70_000]}, "at most"),
        ({"run_memory_limit": 1}, "minimum"),
    ],
)
async def test_requests_the_sandbox_cannot_honour_are_refused(change, says):
    response = await post(json.dumps({**HELLO, **change}))
    assert response.status_code == 400
    assert says in message(response)


async def test_a_body_over_the_size_limit_is_a_json_400():
    response = await post(json.dumps({**HELLO, "stdin": "x" * 5_000_000}))
    assert response.status_code == 400
    assert "bad request" in message(response)


async def test_an_unknown_host_is_a_json_400():
    response = await asgi("GET", "/api/v2/runtimes",
                          headers=[(b"host", b"evil.invalid")])  # fmt: skip
    assert response["status"] == 400
    assert b"bad request" in response["body"]


async def test_head_is_allowed_where_get_is():
    response = await AsyncClient().head("/api/v2/runtimes")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/static/../playground/settings.py", "/static/%2e%2e/playground/settings.py"],
)
async def test_static_paths_cannot_leave_the_static_directory(path):
    response = await asgi("GET", path)
    assert response["status"] == 404
    assert b"SECRET_KEY" not in response["body"]
