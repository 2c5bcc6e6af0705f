"""POST /api/v2/execute served in front of Django answers exactly as Django
does: the same status, body and headers for every kind of request, the same
limits, keys and audit record, and a client that leaves stops its run."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from channels.testing import ApplicationCommunicator

from playground.api import views
from playground.api.fastpath import ExecuteFastPath
from playground.api.results import RunRefused
from playground.asgi import application
from playground.models import RunRecord
from tests.api.test_limits import create_key, in_thread
from tests.api.test_run_lifecycle import leave_mid_run

DJANGO = application.application_mapping["http"].django
HELLO = {"language": "python", "files": [{"content": "print('hello')"}]}
# What a run measures differs from one run to the next.
MEASURED = ("cpu_time", "wall_time", "memory")


class Spy:
    """Django, noting whether the request reached it."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        await DJANGO(scope, receive, send)


def scope(method: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    sent = {"host": "127.0.0.1", "content-type": "application/json",
            "content-length": str(len(body)), **headers}  # fmt: skip
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/api/v2/execute",
        "raw_path": b"/api/v2/execute",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "headers": [(k.encode(), v.encode()) for k, v in sent.items()],
    }


async def call(app: Any, method: str, body: bytes, **headers: str) -> dict[str, Any]:
    client = ApplicationCommunicator(app, scope(method, body, headers))
    await client.send_input({"type": "http.request", "body": body})
    start = await client.receive_output(30)
    chunks = []
    while True:
        message = await client.receive_output(30)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await client.wait()
    return {"status": start["status"], "headers": start["headers"],
            "body": b"".join(chunks)}  # fmt: skip


def comparable(response: dict[str, Any]) -> dict[str, Any]:
    """The response less what differs by design: the CSP nonce, a run's
    measurements (and so the body's length)."""
    headers = []
    for name, value in response["headers"]:
        value = re.sub(rb"'nonce-[^']+'", b"'nonce-N'", value)
        if name.lower() == b"content-length":
            assert int(value) == len(response["body"])
            value = b"N"
        headers.append((name, value))
    body = json.loads(response["body"])
    for stage in ("compile", "run"):
        for name in MEASURED:
            body.get(stage, {}).pop(name, None)
    return {"status": response["status"], "headers": headers, "body": body}


async def both(method: str, body: bytes, served: bool = True, **headers: str):
    """The fast path's answer and Django's, once it is known whether the
    fast path served the request itself or passed it on."""
    spy = Spy()
    fast = await call(ExecuteFastPath(spy), method, body, **headers)
    assert spy.called is not served
    django = await call(DJANGO, method, body, **headers)
    assert comparable(fast) == comparable(django)
    return fast["status"], dict(fast["headers"]), json.loads(fast["body"])


def header(headers: dict[bytes, bytes], name: str) -> str:
    return headers[name.encode()].decode()


async def test_a_run_answers_as_django_does():
    status, headers, body = await both("POST", json.dumps(HELLO).encode())

    assert status == 200
    assert body["run"]["stdout"] == "hello\n" and body["language"] == "python"
    assert header(headers, "Content-Type") == "application/json"
    assert header(headers, "X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in header(headers, "Content-Security-Policy")
    assert header(headers, "X-Content-Type-Options") == "nosniff"
    assert header(headers, "Referrer-Policy") == "same-origin"
    assert header(headers, "Cross-Origin-Opener-Policy") == "same-origin"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b"\xff{}", "the request body is not valid UTF-8"),
        (json.dumps({**HELLO, "language": "cobol-9"}).encode(), "cobol-9"),
    ],
)
async def test_bad_requests_get_the_same_json_400(body, says):
    status, _, answer = await both("POST", body)

    assert status == 400
    assert says in answer["message"]


async def test_a_body_over_the_size_limit_is_left_to_django():
    body = json.dumps({**HELLO, "stdin": "x" * 5_000_000}).encode()
    status, _, answer = await both("POST", body, served=False)

    assert status == 400
    assert answer["message"].startswith("bad request")


async def test_another_method_is_left_to_django():
    status, headers, answer = await both("GET", b"", served=False)

    assert status == 405
    assert header(headers, "Allow") == "POST"
    assert answer["message"] == "GET is not allowed here; use POST"


async def test_a_request_with_cookies_or_an_unknown_host_is_left_to_django():
    body = json.dumps(HELLO).encode()
    status, _, _ = await both("POST", body, False, cookie="theme=dark")
    assert status == 200

    status, _, answer = await both("POST", body, False, host="evil.invalid")
    assert status == 400 and "evil.invalid" in answer["message"]


async def test_an_unknown_key_is_a_401_with_its_challenge():
    status, headers, answer = await both(
        "POST", json.dumps(HELLO).encode(), authorization="Bearer pk_nosuchkey"
    )

    assert status == 401
    assert header(headers, "WWW-Authenticate") == 'Bearer realm="playground"'
    assert "unknown or revoked" in answer["message"]


async def test_a_key_over_its_rate_gets_the_same_429():
    body = json.dumps(HELLO).encode()
    statuses = []
    for path in (ExecuteFastPath(Spy()), DJANGO):
        key = await in_thread(create_key, f"rate{id(path)}", "--burst", "1",
                              "--runs-per-second", "0.1")  # fmt: skip
        for _ in range(2):
            response = await call(path, "POST", body, authorization=f"Bearer {key}")
            statuses.append(comparable(response))

    fast, django = statuses[:2], statuses[2:]
    # The wait told differs by the time the first run took.
    assert [_without_numbers(r) for r in fast] == [_without_numbers(r) for r in django]
    assert [r["status"] for r in fast] == [200, 429]
    assert int(dict(fast[1]["headers"])[b"Retry-After"]) >= 1
    assert "0.1 per second with bursts of 1" in fast[1]["body"]["message"]


def _without_numbers(response: dict[str, Any]) -> str:
    return re.sub(r"\d+", "N", json.dumps(response, default=repr))


async def test_a_full_executor_is_a_503_either_way(monkeypatch):
    async def no_room(job, client):
        raise RunRefused("the playground is busy: too many programs are waiting")

    monkeypatch.setattr(views, "_run", no_room)
    status, headers, answer = await both("POST", json.dumps(HELLO).encode())

    assert status == 503 and header(headers, "Retry-After") == "1"
    assert "busy" in answer["message"]


async def test_a_run_leaves_its_audit_record():
    body = json.dumps(HELLO).encode()
    await call(ExecuteFastPath(Spy()), "POST", body)

    record = await in_thread(lambda: RunRecord.objects.latest("started_at"))
    assert (record.surface, record.client) == ("http", "address 127.0.0.1")
    assert record.language == "python" and record.status == ""


async def test_a_client_that_leaves_stops_its_run(backend):
    source = "import time\nprint('up', flush=True)\ntime.sleep(30)"
    body = json.dumps({"language": "python", "files": [{"content": source}]})
    spy = Spy()
    sent = scope("POST", body.encode(), {})
    client = ApplicationCommunicator(ExecuteFastPath(spy), sent)
    await client.send_input({"type": "http.request", "body": body.encode()})

    await leave_mid_run(client, backend)
    assert not spy.called
    assert await client.receive_nothing()
