"""Every supervisor on a host holds its own block of sandbox uids, whatever
starts it (a worker, an embedded web process, the command line): two runs
never share a host uid, which would also share its process count."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time

import pytest

from executor import config, uids
from executor.backends.local import LocalBackend
from executor.job import Job, Stage
from tests.conftest import idle_pool_processes, process_uid, sandbox_processes

BASE = 5_000_000  # away from the defaults other suites on this host use

# An ordinary user's sandboxes all run as that user: there are no blocks.
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root maps host ids it chooses"
)


def sleeper(run_id: str) -> Job:
    limits = config.get().stage_limits("run", 4096)
    return Job(run_id, "sleep", "1", [], [Stage("run", ["/bin/sleep", "20"], limits)],
               {"PATH": "/usr/bin:/bin"})  # fmt: skip


async def sandbox_uids(backend: LocalBackend) -> set[int]:
    """The host uids of the backend's running sandbox and of its idle pooled
    ones, which hold their ids while they wait."""
    supervisors = set(backend.supervisor_pids())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = sandbox_processes(supervisors)
        running = {uid for _, uid in found if uid != 0}
        if len(running) >= 2:  # the sandbox's init and its program
            pooled = {process_uid(pid) for pid in idle_pool_processes(supervisors)}
            return running | (pooled - {0})
        await asyncio.sleep(0.1)
    raise AssertionError("the sandbox did not start")


def _held(backend: LocalBackend) -> range:
    """The host ids the backend's one supervisor holds."""
    [connection] = backend.connections.values()
    assert connection.block is not None
    return range(connection.block.first, connection.block.last + 1)


async def test_two_embedded_supervisors_never_share_a_sandbox_uid():
    settings = dataclasses.replace(config.get(), sandbox_uid_base=BASE)
    first, second = LocalBackend(settings), LocalBackend(settings)
    runs = [await first.submit(sleeper("uidblocks001")),
            await second.submit(sleeper("uidblocks002"))]  # fmt: skip
    try:
        seen = [await sandbox_uids(first), await sandbox_uids(second)]
        held = [_held(first), _held(second)]
    finally:
        for run in runs:
            await run.stop()
        for run in runs:
            async for _ in run.events():
                pass
        await first.aclose()
        await second.aclose()

    assert not seen[0] & seen[1], f"both supervisors ran sandboxes as {seen}"
    for used, block in zip(seen, held, strict=True):
        assert all(uid in block for uid in used), (used, block)
    assert all(uid >= BASE for uid in seen[0] | seen[1])


async def test_a_supervisor_leaves_a_held_block_alone():
    slots = config.get().host_id_slots
    held = uids.claim(BASE + 100_000, slots)
    settings = dataclasses.replace(config.get(), sandbox_uid_base=held.first)
    backend = LocalBackend(settings)
    run = await backend.submit(sleeper("uidblocks003"))
    try:
        seen = await sandbox_uids(backend)
    finally:
        await run.stop()
        async for _ in run.events():
            pass
        await backend.aclose()
        held.release()

    assert not any(held.first <= uid <= held.last for uid in seen), seen
