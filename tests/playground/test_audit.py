"""Every run leaves an audit record: who, what, where, how it ended; the code
and output only when the administrator asks for them."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from functools import partial

import pytest
from channels.testing import ApplicationCommunicator
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.test import AsyncClient
from django.utils import timezone

from executor.backends.local import LocalBackend
from playground import audit, dbthread
from playground.asgi import application
from playground.models import RunRecord
from tests.api.test_connect import connected, init
from tests.conftest import sandbox_processes

pytestmark = pytest.mark.database

PROGRAM = {"language": "python", "files": [{"content": "print('secret output')"}]}


async def execute() -> str:
    response = await AsyncClient().post("/api/v2/execute", json.dumps(PROGRAM),
                                        content_type="application/json")  # fmt: skip
    assert response.status_code == 200
    return response.json()["run"]["stdout"]


async def test_an_api_run_is_recorded_without_its_code_or_output():
    await execute()

    record = await RunRecord.objects.aget()
    assert (record.surface, record.language, record.status) == ("http", "python", "")
    assert record.client.startswith("address ")
    assert record.stages[0]["stage"] == "run" and record.stages[0]["code"] == 0
    assert record.host and record.finished_at >= record.started_at
    assert (record.code, record.output) == ("", "")


async def test_a_write_that_fails_is_tried_once_more(monkeypatch):
    # The writer keeps its connection; one the database dropped fails once.
    failures = [OperationalError("server closed the connection unexpectedly")]
    insert = audit.insert

    def flaky(kept: RunRecord) -> None:
        if failures:
            raise failures.pop()
        insert(kept)

    monkeypatch.setattr(audit, "insert", flaky)
    await execute()

    assert not failures
    assert await RunRecord.objects.acount() == 1


def backend_pid() -> int:
    database = connections[DEFAULT_DB_ALIAS]
    database.ensure_connection()
    return database.connection.info.backend_pid


def terminate(pid: int) -> None:
    """Have the server end another connection's session, as a restart of
    the database would; return once that session has ended."""
    database = connections[DEFAULT_DB_ALIAS]
    try:
        with database.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
    finally:
        database.close()


async def test_a_record_is_written_after_the_database_dropped_the_connection():
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        pytest.skip("only a database server drops its clients' connections")
    await asyncio.to_thread(terminate, await dbthread.call(backend_pid))

    await execute()
    await execute()

    assert await RunRecord.objects.acount() == 2


async def test_code_and_output_are_kept_when_enabled(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_AUDIT_CONTENT", "1")
    await execute()

    record = await RunRecord.objects.aget()
    assert "print('secret output')" in record.code
    assert record.output == "secret output\n"


async def test_a_page_run_over_the_websocket_is_recorded():
    async with connected() as session:
        await session.send(init("c", "int main(void) { return 3; }"))
        assert await session.until_closed() == 4999

    record = await RunRecord.objects.aget()
    assert (record.surface, record.language, record.status) == ("page", "c", "RE")
    assert [s["stage"] for s in record.stages] == ["compile", "run"]


# Prints, then keeps its stage running until it is stopped.
BUSY = "print('running', flush=True)\nwhile True:\n    pass\n"


def assert_stopped_by_its_client(record: RunRecord) -> None:
    assert (record.stopped_by, record.status) == ("client", "SG")
    assert record.get_stopped_by_display() == "its client left"
    [stage] = record.stages  # its result, as the stopped stage reported it
    assert (stage["stage"], stage["status"]) == ("run", "SG")
    assert stage["message"] == "Stopped on request"


async def test_a_run_whose_page_leaves_is_recorded_as_stopped_by_its_client(
    monkeypatch,
):
    monkeypatch.setenv("PLAYGROUND_AUDIT_CONTENT", "1")
    async with connected() as session:
        await session.send(init("python", BUSY, run_timeout=-1))
        await session.until_text("stdout", "running")
        await session.communicator.disconnect()

    record = await RunRecord.objects.aget()
    assert_stopped_by_its_client(record)
    assert record.output.startswith("running")  # the output that had arrived


@pytest.mark.parametrize("length", [True, False], ids=["fast path", "django"])
async def test_a_run_whose_http_client_leaves_is_recorded_as_stopped_by_it(
    backend, length
):
    body = json.dumps({"language": "python", "files": [{"content": BUSY}],
                       "run_timeout": -1}).encode()  # fmt: skip
    # With a Content-Length the fast path serves it, without one Django.
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    headers += [(b"content-length", str(len(body)).encode())] if length else []
    scope = {"type": "http", "method": "POST", "path": "/api/v2/execute",
             "headers": headers}  # fmt: skip
    client = ApplicationCommunicator(application, scope)
    await client.send_input({"type": "http.request", "body": body})
    await until_a_sandbox_runs(backend)

    await client.send_input({"type": "http.disconnect"})
    await client.wait(timeout=10)

    assert_stopped_by_its_client(await RunRecord.objects.aget())


async def until_a_sandbox_runs(backend: LocalBackend) -> None:
    deadline = time.monotonic() + 10
    while not sandbox_processes(set(backend.supervisor_pids())):
        assert time.monotonic() < deadline, "the run never started"
        await asyncio.sleep(0.05)


def test_prune_deletes_records_past_the_retention(monkeypatch):
    now = timezone.now()
    for age in (1, 40):
        RunRecord.objects.create(run_id=f"r{age}", started_at=now - timedelta(days=age),
                                 finished_at=now, client="address 127.0.0.1",
                                 surface="http", language="python", version="3",
                                 host="h")  # fmt: skip
    monkeypatch.setenv("PLAYGROUND_AUDIT_RETENTION_DAYS", "30")

    call_command("prune_audit")

    assert list(RunRecord.objects.values_list("run_id", flat=True)) == ["r1"]


async def test_a_record_reads_back_as_model_save_would_have_written_it():
    started = timezone.now() - timedelta(seconds=3)
    fields = dict(started_at=started, finished_at=timezone.now(),
                  client="address 127.0.0.1, session abc", surface="websocket",
                  language="python", version="3.11.2", status="TO",
                  stages=[{"stage": "run", "status": "TO", "memory": 4096,
                           "message": "wall time limit: 3 s ✓"}],
                  stopped_by="client", host="host-1", code="print('é')",
                  output="é\n")  # fmt: skip
    saved = RunRecord(run_id="saved", **fields)
    await dbthread.call(saved.save)

    await dbthread.call(partial(audit.insert, RunRecord(run_id="inserted", **fields)))

    rows = {r.pop("run_id"): r async for r in RunRecord.objects.values()}
    rows["saved"].pop("id"), rows["inserted"].pop("id")
    assert rows["inserted"] == rows["saved"]
    assert rows["inserted"]["stages"][0]["message"].endswith("✓")


async def test_a_record_is_kept_when_its_texts_do_not_fit_the_database():
    # PostgreSQL's text refuses NUL and its varchar what is too long; a
    # program may print NULs, a misconfigured proxy pass any address.
    now = timezone.now()
    kept = RunRecord(run_id="nul", started_at=now, finished_at=now,
                     client="address " + "9" * 300, surface="http",
                     language="python", version="3", host="h",
                     code="print('\\0')", output="a\0b\n")  # fmt: skip

    await dbthread.call(partial(audit.insert, kept))

    stored = await RunRecord.objects.aget(run_id="nul")
    assert stored.client == ("address " + "9" * 300)[:200]
    assert stored.output == "a\N{REPLACEMENT CHARACTER}b\n"
    assert stored.code == "print('\\0')"
