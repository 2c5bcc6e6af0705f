"""A run lasts as long as someone wants it: a person may take their time to
type, a client that leaves stops its run, and a full queue says so."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import time

import pytest
from channels.testing import ApplicationCommunicator

from executor import config
from executor.backends.local import LocalBackend
from executor.events import Output, Queued, Refused, StageExited, StageStarted
from executor.requests import build_job
from playground.asgi import application
from playground.registry import registry
from tests.api.test_connect import connected, init, stdin
from tests.conftest import execute, sandbox_processes


async def test_a_person_may_take_longer_than_a_batch_run_to_type():
    source = "import time\ntime.sleep(3.5)\nprint('hello', input())"
    async with connected() as session:
        await session.send(init("python", source))
        await asyncio.sleep(3.6)
        await session.send(stdin("Ada\n"))
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "hello Ada\n"
    assert session.of_type("exit")[0]["status"] is None


async def test_a_client_that_leaves_stops_its_run(backend):
    body = json.dumps(
        {
            "language": "python",
            "files": [
                {"content": "import time\nprint('up', flush=True)\ntime.sleep(30)"}
            ],
        }
    )
    scope = {"type": "http", "method": "POST", "path": "/api/v2/execute",
             "headers": [(b"host", b"127.0.0.1"),
                         (b"content-type", b"application/json")]}  # fmt: skip
    client = ApplicationCommunicator(application, scope)
    await client.send_input({"type": "http.request", "body": body.encode()})

    await leave_mid_run(client, backend)


async def leave_mid_run(client: ApplicationCommunicator, backend: LocalBackend) -> None:
    """Once the run has started, disconnect; it must be gone within 1 s."""
    deadline = time.monotonic() + 5
    while not sandbox_processes(set(backend.supervisor_pids())):
        assert time.monotonic() < deadline, "the run never started"
        await asyncio.sleep(0.05)

    await client.send_input({"type": "http.disconnect"})

    deadline = time.monotonic() + 1
    while sandbox_processes(set(backend.supervisor_pids())):
        assert time.monotonic() < deadline, "the run outlived its client"
        await asyncio.sleep(0.05)
    await client.wait()


async def test_output_cut_at_the_cap_never_splits_a_character(backend):
    result = await execute(backend, "python", "print('a' + 'é' * 600)",
                           output_bytes=1024)  # fmt: skip
    assert result["run"]["status"] == "OL"
    assert result["run"]["stdout"] == "a" + "é" * 511


async def test_a_full_queue_refuses_work_with_a_clear_message():
    settings = dataclasses.replace(
        config.get(), max_concurrent_runs=1, max_waiting_runs=4
    )
    backend = LocalBackend(settings)
    payload = {"language": "bash", "files": [{"content": "sleep 2"}],
               "run_timeout": 3000}  # fmt: skip
    runs = []
    for _ in range(6):  # one running, four waiting, one too many
        job, _ = build_job(payload, registry(), settings, 1024)
        runs.append(await backend.submit(job))

    events = [e async for e in runs[-1].events()]

    assert isinstance(events[0], Refused)
    assert "busy" in events[0].reason
    for run in runs[:-1]:
        await run.stop()
    await backend.aclose()


@pytest.mark.parametrize("how", ["stop", "SIGKILL"])
async def test_a_run_stopped_while_it_waits_never_starts(how: str):
    settings = dataclasses.replace(config.get(), max_concurrent_runs=1)
    backend = LocalBackend(settings)
    payload = {"language": "bash", "files": [{"content": "sleep 1"}]}
    running, waiting = [
        await backend.submit(build_job(payload, registry(), settings, 1024)[0])
        for _ in range(2)
    ]
    events = aiter(waiting.events())
    assert isinstance(await anext(events), Queued)

    if how == "stop":
        await waiting.stop()
    else:  # the page's Stop button
        await waiting.send_signal(signal.SIGKILL)

    rest = [event async for event in events]
    assert not any(isinstance(event, StageStarted) for event in rest), rest
    [exited] = [event for event in rest if isinstance(event, StageExited)]
    assert (exited.result.status, exited.result.message) == ("SG", "Stopped on request")
    await running.stop()
    await backend.aclose()


async def test_input_sent_while_a_run_waits_reaches_it_when_it_starts():
    settings = dataclasses.replace(config.get(), max_concurrent_runs=1)
    backend = LocalBackend(settings)
    sleeper = {"language": "bash", "files": [{"content": "sleep 30"}]}
    reader = {"language": "bash", "files": [{"content": "cat; echo done"}]}
    running = await backend.submit(build_job(sleeper, registry(), settings, 1024)[0])
    job, _ = build_job(reader, registry(), settings, 1024, interactive=True)
    waiting = await backend.submit(job)
    events = aiter(waiting.events())
    assert isinstance(await anext(events), Queued)

    await waiting.write_stdin(b"typed while waiting\n")
    await waiting.close_stdin()
    await running.stop()

    rest = [event async for event in events]
    output = b"".join(e.data for e in rest if isinstance(e, Output))
    [exited] = [event for event in rest if isinstance(event, StageExited)]
    assert exited.result.code == 0, exited.result
    assert output.replace(b"\r\n", b"\n") == b"typed while waiting\ndone\n"
    await backend.aclose()
