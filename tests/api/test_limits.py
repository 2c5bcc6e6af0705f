"""Fairness: each client has a rate, a burst and a number of runs in flight;
a full executor says so at once; API keys carry limits of their own."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import AsyncClient

from executor import config
from playground.api import views
from playground.api.results import RunRefused
from tests.api.test_connect import connected, init

HELLO = {"language": "bash", "files": [{"content": "echo hi"}]}
SLEEPER = {"language": "bash", "files": [{"content": "sleep 1.5"}]}


def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `function` in a worker thread that closes its database
    connections after it (PostgreSQL's driver warns of any left open)."""

    def call() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return asyncio.to_thread(call)


def create_key(name: str, *options: str) -> str:
    out = io.StringIO()
    call_command("apikey", "create", name, *options, stdout=out)
    return out.getvalue().split()[0]


async def post(body: dict, key: str | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await AsyncClient().post("/api/v2/execute", json.dumps(body),
                                    content_type="application/json",
                                    headers=headers)  # fmt: skip


async def test_a_burst_past_the_rate_gets_429_with_retry_after():
    key = await in_thread(create_key, "burst", "--runs-per-second", "0.5",
                                  "--burst", "2")  # fmt: skip
    statuses = [(await post(HELLO, key)) for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[2]["Retry-After"]) >= 1
    assert "0.5 per second with bursts of 2" in statuses[2].json()["message"]


async def test_runs_in_flight_are_capped_per_client():
    key = await in_thread(create_key, "busy", "--max-runs-at-once", "1")
    first = asyncio.ensure_future(post(SLEEPER, key))
    await asyncio.sleep(0.5)

    second = await post(HELLO, key)

    assert second.status_code == 429
    assert "runs in flight" in second.json()["message"]
    assert (await first).status_code == 200


@pytest.mark.database
async def test_an_unknown_or_revoked_key_is_refused():
    key = await in_thread(create_key, "gone")
    await in_thread(call_command, "apikey", "revoke", "gone",
                            stdout=io.StringIO())  # fmt: skip

    for sent in (key, "pk_not-a-key-at-all"):
        response = await post(HELLO, sent)
        assert response.status_code == 401
        assert "unknown or revoked" in response.json()["message"]


@pytest.mark.database
async def test_keys_are_stored_only_as_hashes():
    from playground.models import ApiKey

    key = await in_thread(create_key, "hashed")
    stored = await ApiKey.objects.aget(name="hashed")
    assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64


async def test_the_websocket_refuses_a_client_over_its_limit():
    key = await in_thread(create_key, "ws", "--burst", "1",
                                  "--runs-per-second", "0.1")  # fmt: skip
    headers = [(b"authorization", f"Bearer {key}".encode())]
    for expected in (4999, 4006):
        async with connected(headers) as session:
            await session.send(init("bash", "echo hi"))
            assert await session.until_closed() == expected
    assert "per second" in session.of_type("error")[0]["message"]


async def test_a_full_executor_answers_503_at_once(monkeypatch):
    # The supervisor's refusal itself is tested in test_run_lifecycle; here,
    # what the HTTP API makes of it.
    async def no_room(job, client):
        raise RunRefused("the playground is busy: too many programs are waiting")

    monkeypatch.setattr(views, "_run", no_room)

    response = await post(HELLO)

    assert response.status_code == 503
    assert "busy" in response.json()["message"] and response["Retry-After"] == "1"


async def test_a_waiting_page_is_told_its_place_in_the_queue(backend):
    from tests.conftest import execute

    sleepers = [asyncio.ensure_future(execute(backend, "bash", "sleep 1.5"))
                for _ in range(config.get().max_concurrent_runs)]  # fmt: skip
    await asyncio.sleep(0.5)
    async with connected() as session:
        await session.send(init("bash", "echo finally"))
        assert await session.until_closed(timeout=15) == 4999
    await asyncio.gather(*sleepers)

    assert session.of_type("queue")[0]["position"] == 0
    assert session.text("stdout") == "finally\n"


async def test_the_bearer_scheme_is_case_insensitive_and_required():
    key = await in_thread(create_key, "schemes", "--burst", "1",
                                  "--runs-per-second", "0.1")  # fmt: skip
    client = AsyncClient()

    async def send(authorization: str) -> int:
        response = await client.post(
            "/api/v2/execute",
            json.dumps(HELLO),
            content_type="application/json",
            headers={"Authorization": authorization},
        )
        return response.status_code

    assert await send(f"bearer {key}") == 200  # the key's one run
    assert await send(f"BEARER {key}") == 429  # the same key, now over its limit
    assert await send(key) == 200  # no scheme: not a key, so the address


@pytest.mark.database
def test_key_limits_must_be_positive_numbers():
    for bad in ("0", "-1", "nan"):
        with pytest.raises(CommandError):
            call_command("apikey", "create", f"bad{bad}", "--runs-per-second", bad)
