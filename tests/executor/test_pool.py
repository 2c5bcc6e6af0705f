"""The pool of sandboxes isolated ahead of demand: each serves one run and
is never reused, the pool refills, size 0 turns it off, a failure while
pre-isolating fails closed, and a run's own limits hold in a pooled sandbox.
Every test drives a real supervisor and real sandboxes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from executor import config
from executor.backends.local import LocalBackend
from executor.events import Output, StageExited
from executor.job import Job, Stage, new_run_id
from executor.limits import MIB, Limits
from tests.conftest import (
    idle_pool_processes,
    leftover_cgroups,
    pool_settled,
    sandbox_processes,
)

PYTHON = "/usr/bin/python3"


def backend_with_pool(size: int) -> LocalBackend:
    return LocalBackend(dataclasses.replace(config.get(), pool_size=size))


@pytest.fixture
async def pooled() -> AsyncIterator[LocalBackend]:
    backend = backend_with_pool(1)
    yield backend
    await backend.aclose()


def job(code: str, limits: Limits | None = None, **fields: Any) -> Job:
    limits = limits or config.get().stage_limits("run", 64 * 1024)
    stages = [Stage("run", [PYTHON, "-c", code], limits)]
    env = {"PATH": "/usr/bin:/bin"}
    return Job(new_run_id(), "python", "3", [], stages, env, **fields)


async def run(backend: LocalBackend, submitted: Job) -> tuple[str, str | None]:
    handle = await backend.submit(submitted)
    stdout, status = "", None
    async for event in handle.events():
        if isinstance(event, Output) and event.stream == "stdout":
            stdout += event.data.decode()
        elif isinstance(event, StageExited):
            status = event.result.status
    return stdout, status


async def settled_pool(backend: LocalBackend) -> set[int]:
    """Start the backend's supervisor if need be; the idle sandboxes' pids
    once its pool is full."""
    await run(backend, job("pass"))
    supervisor = backend.supervisor_pids()[0]
    await pool_settled(supervisor, size=backend.config.pool_size)
    return idle_pool_processes({supervisor})


def alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


LEAVE_TRACES = """
import os, subprocess
open('/tmp/trace', 'w').write('left by the first run')
open('/work/trace', 'w').write('left by the first run')
subprocess.Popen(['sleep', '30'], start_new_session=True)
print('traces left')
"""

FIND_TRACES = """
import os
found = [p for p in ('/tmp/trace', '/work/trace') if os.path.exists(p)]
others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) > 2
          and int(p) != os.getpid()]
print(found, others)
"""


async def test_a_pooled_sandbox_serves_one_run_and_is_never_reused(pooled):
    first_idle = await settled_pool(pooled)

    assert await run(pooled, job(LEAVE_TRACES)) == ("traces left\n", None)
    second_idle = await pool_settled_idle(pooled)
    seen = await run(pooled, job(FIND_TRACES))

    assert first_idle and second_idle and not first_idle & second_idle
    assert not any(alive(pid) for pid in first_idle)
    assert seen == ("[] []\n", None)


async def pool_settled_idle(backend: LocalBackend) -> set[int]:
    supervisor = backend.supervisor_pids()[0]
    await pool_settled(supervisor, size=backend.config.pool_size)
    return idle_pool_processes({supervisor})


async def test_the_pool_refills_after_runs_take_its_sandboxes():
    backend = backend_with_pool(2)
    try:
        await settled_pool(backend)
        results = await asyncio.gather(
            *(run(backend, job("print('ran')")) for _ in range(5))
        )
        idle = await pool_settled_idle(backend)
    finally:
        await backend.aclose()
    assert results == [("ran\n", None)] * 5
    assert len(idle) == 2 * 2  # an init and its program child, twice


async def test_the_pool_refills_beside_a_run_that_waits():
    # A class leaves programs waiting at an input prompt for minutes; the
    # others' runs still find sandboxes made ahead.
    backend = backend_with_pool(2)
    limits = config.get().stage_limits("run", 64 * 1024)
    waits = job(
        "import time; time.sleep(60)", dataclasses.replace(limits, wall_time_ms=60_000)
    )
    try:
        await settled_pool(backend)
        handle = await backend.submit(waits)
        idle = await pool_settled_idle(backend)
        still_running = sandbox_processes(set(backend.supervisor_pids()))
        await handle.stop()
        results = [e.result.status async for e in handle.events()
                   if isinstance(e, StageExited)]  # fmt: skip
    finally:
        await backend.aclose()
    assert len(idle) == 2 * 2  # an init and its program child, twice
    assert still_running, "the waiting run ended before the pool refilled"
    assert results == ["SG"]


async def test_pool_size_zero_makes_each_sandbox_on_demand():
    backend = backend_with_pool(0)
    try:
        outcomes = [await run(backend, job("print('ran')")) for _ in range(3)]
        await asyncio.sleep(0.2)  # time enough for a pool to start filling
        supervisors = set(backend.supervisor_pids())
        leftovers = sandbox_processes(supervisors), idle_pool_processes(supervisors)
    finally:
        await backend.aclose()
    assert outcomes == [("ran\n", None)] * 3
    assert leftovers == ([], set())


async def test_a_failure_while_pre_isolating_fails_closed(pooled, capfd):
    # A read-only path that is a dangling link cannot be bound into the view:
    # the sandboxes built for this runtime's view fail at the mounts step.
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:  # nosec B108
        # The sandbox's init, another host id, must see the link.
        os.chmod(directory, 0o755)  # noqa: S103
        broken = os.path.join(directory, "gone")
        os.symlink(os.path.join(directory, "missing"), broken)
        await settled_pool(pooled)

        outcomes = [await run(pooled, job("print('ran')", readonly_paths=[broken]))
                    for _ in range(3)]  # fmt: skip
        log = await wait_for_log(capfd, "failed at step 'mounts'")
        healthy = await run(pooled, job("print('ran')"))

    assert outcomes == [("", "XX")] * 3
    assert "pool sandbox pool-" in log and "the pool retries in" in log
    assert "sandbox step 'mounts' failed" in log
    # It backs off rather than rebuilding a failing sandbox in a tight loop.
    assert log.count("failed at step 'mounts'") <= 3
    assert healthy == ("ran\n", None)


async def test_the_pool_refills_after_its_backoff_with_no_run_to_wake_it(pooled):
    # A member of a view that cannot be built fails and the pool backs off;
    # once the backoff is over it refills for the next run, with nothing else
    # happening meanwhile.
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:  # nosec B108
        os.chmod(directory, 0o755)  # noqa: S103
        broken = os.path.join(directory, "gone")
        os.symlink(os.path.join(directory, "missing"), broken)
        await settled_pool(pooled)
        failed = await run(pooled, job("print('ran')", readonly_paths=[broken]))
        await asyncio.sleep(0.2)  # the pool's member for that view fails too
        healthy = await run(pooled, job("print('ran')"))

        idle = await pool_settled_idle(pooled)

    assert (failed, healthy) == (("", "XX"), ("ran\n", None))
    assert len(idle) == 2  # an init and its program child


async def wait_for_log(capfd: pytest.CaptureFixture[str], text: str) -> str:
    seen, deadline = "", time.monotonic() + 5
    while text not in seen and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        seen += capfd.readouterr().err
    return seen


REPORT_LIMITS = """
import os, resource
work = os.statvfs('/work')
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0],
      resource.getrlimit(resource.RLIMIT_FSIZE)[0],
      resource.getrlimit(resource.RLIMIT_NPROC)[0],
      work.f_blocks * work.f_frsize)
"""

ALLOCATE = "x = bytearray(120 * 1024 * 1024); print('allocated')"


async def test_a_runs_own_limits_hold_in_a_pooled_sandbox(pooled):
    limits = dataclasses.replace(
        config.get().stage_limits("run", 64 * 1024),
        open_files=77,
        file_size_bytes=123_456,
        processes=9,
        workdir_bytes=5 * MIB,
        memory_bytes=200 * MIB,
    )
    idle = await settled_pool(pooled)

    reported = await run(pooled, job(REPORT_LIMITS, limits))
    idle_again = await pool_settled_idle(pooled)
    # An idle sandbox's cgroup allows 64 MiB: the run's limit, above and
    # below that, is the one in force.
    roomy = await run(pooled, job(ALLOCATE, limits))
    await pool_settled_idle(pooled)
    tight = dataclasses.replace(limits, memory_bytes=48 * MIB)
    cramped = await run(pooled, job(ALLOCATE, tight))

    assert not idle & idle_again, "the run did not take the pooled sandbox"
    assert reported == (f"77 123456 9 {5 * MIB}\n", None)
    assert roomy == ("allocated\n", None)
    assert cramped == ("", "ML")


def supervisor_group(controller: str, supervisor: int) -> str:
    for directory, _, _ in os.walk(f"/sys/fs/cgroup/{controller}"):
        if os.path.basename(directory) == f"playground-{supervisor}":
            return directory
    raise AssertionError(f"no {controller} group of supervisor {supervisor}")


@pytest.mark.skipif(
    not os.path.isdir("/sys/fs/cgroup/cpuacct"), reason="cgroup v1 renames in parts"
)
async def test_a_claim_renamed_in_part_leaves_no_group_behind(pooled):
    # The last of the four v1 hierarchies refuses the stage's name: the three
    # renamed before it must still be found, killed and removed.
    await settled_pool(pooled)
    supervisor = pooled.supervisor_pids()[0]
    submitted = job("print('ran')")
    taken = os.path.join(supervisor_group("cpuacct", supervisor), submitted.run_id)
    os.mkdir(f"{taken}-run")
    try:
        stdout, status = await run(pooled, submitted)
        left = leftover_cgroups({supervisor})
    finally:
        os.rmdir(f"{taken}-run")

    assert (stdout, status) == ("", "XX")
    assert left == []
