"""Writing the audit record of a run, from the page and from the API.

Records are written on the database thread (playground/dbthread.py); a run
waits for its record before it answers. Every run writes one, so the write
goes straight to the database driver: Model.save's machinery (its signals,
per-field hooks and SQL compiler) cost more than the INSERT itself.
"""

import asyncio
import logging
import os
import socket
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field
from django.utils import timezone

from executor.job import Job
from executor.results import StageResult
from playground import dbthread
from playground.models import RunRecord

log = logging.getLogger(__name__)

HOST = socket.gethostname()


def content_enabled() -> bool:
    return os.environ.get("PLAYGROUND_AUDIT_CONTENT", "") == "1"


def retention() -> timedelta:
    days = os.environ.get("PLAYGROUND_AUDIT_RETENTION_DAYS", "30")
    return timedelta(days=int(days))


def client_of(address: str | None, session_key: str | None = None) -> str:
    """How a client is named in the record: its address, and its page
    session when it has one."""
    name = f"address {address or 'unknown'}"
    return f"{name}, session {session_key[:12]}" if session_key else name


def _stage_summary(stage: str, result: StageResult) -> dict[str, Any]:
    return {
        "stage": stage,
        "status": result.status,
        "code": result.code,
        "signal": result.signal,
        "cpu_time": result.cpu_time_ms,
        "wall_time": result.wall_time_ms,
        "memory": result.memory_bytes,
        "message": result.message,
    }


async def record(
    job: Job,
    client: str,
    surface: str,
    started_at: datetime,
    results: dict[str, StageResult],
    output: str = "",
    stopped_by: str = "",
) -> None:
    """Keep the run's record; a failure to write it is logged, never raised.
    `stopped_by` says why the run was stopped early (playground.inflight)."""
    last = list(results.values())[-1] if results else None
    code = "\n".join(f.content.decode("utf-8", "replace") for f in job.files)
    kept = RunRecord(
        run_id=job.run_id,
        started_at=started_at,
        finished_at=timezone.now(),
        client=client,
        surface=surface,
        language=job.language,
        version=job.version,
        status=(last.status or "") if last else "XX",
        stages=[_stage_summary(s, r) for s, r in results.items()],
        stopped_by=stopped_by,
        host=HOST,
        code=code if content_enabled() else "",
        output=output if content_enabled() else "",
    )
    written = dbthread.call(partial(_write, kept))
    # A client that leaves cancels its run's task; its record is still kept.
    await asyncio.shield(written)


def _write(kept: RunRecord) -> None:
    try:
        dbthread.retried(partial(insert, kept))
    except Exception:
        log.exception("run_id=%s audit record not written", kept.run_id)


# The record's columns, in the order of the INSERT's values.
_FIELDS = [f for f in RunRecord._meta.concrete_fields if not f.primary_key]


def insert(kept: RunRecord) -> None:
    """Write one new record over this thread's connection: the values are
    prepared by the model's own fields, as Model.save would."""
    # This thread's own wrapper, looked up once: `connection` is a proxy.
    database = connections[DEFAULT_DB_ALIAS]
    database.ensure_connection()
    values = [
        f.get_db_prep_save(_storable(f, f.pre_save(kept, True)), database)
        for f in _FIELDS
    ]
    # The driver's errors made Django's, as its cursor would: a connection
    # the database dropped then fails with a DatabaseError, which
    # dbthread.retried answers with a new connection.
    with database.wrap_database_errors:
        cursor = database.connection.cursor()
        try:
            cursor.execute(_insert_sql(database.vendor), values)
        finally:
            cursor.close()


def _storable(field: Field, value: Any) -> Any:
    """A text the database takes as it is: PostgreSQL's text holds no NUL
    and its varchar refuses what is longer than the column. A program may
    print NULs, and a misconfigured proxy may hand over any address; the run
    keeps its record either way."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    return value[: field.max_length] if field.max_length else value


@lru_cache(maxsize=4)
def _insert_sql(vendor: str) -> str:
    # Named by vendor: each driver has its own placeholder.
    mark = "?" if connection.Database.paramstyle == "qmark" else "%s"
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _FIELDS)
    marks = ", ".join([mark] * len(_FIELDS))
    table = quote(RunRecord._meta.db_table)
    # Names from the model's own metadata; every value is a parameter.
    template = "INSERT INTO {} ({}) VALUES ({})"
    return template.format(table, columns, marks)
