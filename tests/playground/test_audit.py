"""Every run leaves an audit record: who, what, where, how it ended; the code
and output only when the administrator asks for them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import AsyncClient
from django.utils import timezone

from playground.models import RunRecord
from tests.api.test_connect import connected, init

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
    save = RunRecord.save

    def flaky(self: RunRecord, *args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        save(self, *args, **kwargs)

    monkeypatch.setattr(RunRecord, "save", flaky)
    await execute()

    assert not failures
    assert await RunRecord.objects.acount() == 1


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
