"""The sandbox fails closed: when an isolation step fails, the program does
not start, the client sees status XX, and the operator's log names the step."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys

import pytest

from executor import config, stage, uids
from executor.backends.local import LocalBackend
from executor.errors import ConfigError, SandboxError
from executor.events import Output, StageExited
from executor.job import File, Job, Stage
from executor.sandbox import cgroups

MARKER = "the program ran"


def job(files: list[File]) -> Job:
    limits = config.get().stage_limits("run", 4096)
    argv = ["/usr/bin/python3", "-c", f"print({MARKER!r})"]
    return Job(
        "failclosed01",
        "python",
        "3",
        files,
        [Stage("run", argv, limits)],
        {"PATH": "/usr/bin:/bin"},
    )


async def outcome(backend: LocalBackend, submitted: Job) -> tuple[str, str | None]:
    run = await backend.submit(submitted)
    stdout, status = "", None
    async for event in run.events():
        if isinstance(event, Output):
            stdout += event.data.decode()
        elif isinstance(event, StageExited):
            status = event.result.status
    await backend.aclose()
    return stdout, status


@pytest.mark.skipif(os.geteuid() != 0, reason="only root maps host ids it chooses")
async def test_a_failed_uid_map_stops_the_run_before_the_program(capfd):
    # Ids past 2**32 would wrap onto real host users; the map step refuses.
    settings = dataclasses.replace(config.get(), sandbox_uid_base=2**32 - 2)
    # Given, not claimed: a claim would refuse these ids before the map step.
    block = uids.UidBlock(2**32 - 2, 2**32 - 3 + 2 * settings.max_concurrent_runs)

    stdout, status = await outcome(LocalBackend(settings, block), job([]))

    assert (stdout, status) == ("", "XX")
    assert "sandbox step 'uid map' failed" in capfd.readouterr().err


async def test_a_failed_files_step_stops_the_run_before_the_program(capfd):
    # "a" as a file and as a directory cannot both be written into /work.
    files = [File("a", b"x"), File("a/b", b"y")]

    stdout, status = await outcome(LocalBackend(config.get()), job(files))

    assert (stdout, status) == ("", "XX")
    assert "sandbox step 'files' failed" in capfd.readouterr().err


def unusable_cgroup_version() -> str:
    for version in ("v1", "v2"):
        try:
            parent = config.get().cgroup_parent
            cgroups.release(cgroups.discover(version, "playground-probe", parent))
        except (SandboxError, OSError):
            return version
    pytest.fail("both cgroup versions work here; no way to make one fail")


async def test_without_usable_cgroups_the_executor_refuses_to_run(capfd):
    version = unusable_cgroup_version()
    settings = dataclasses.replace(config.get(), cgroup_version=version)

    stdout, status = await outcome(LocalBackend(settings), job([]))

    assert (stdout, status) == ("", "XX")
    err = capfd.readouterr().err
    assert "cannot start" in err and "cgroup" in err


@pytest.mark.parametrize("base", ["0", "1000", str(2**32 - 4)])
def test_a_uid_base_that_could_reach_real_users_is_refused(base):
    env = {"PLAYGROUND_SANDBOX_UID_BASE": base, "PLAYGROUND_MAX_CONCURRENT_RUNS": "8"}
    with pytest.raises(ConfigError, match="PLAYGROUND_SANDBOX_UID_BASE"):
        config.from_environ(env)


def test_the_command_line_explains_an_unknown_language(tmp_path):
    program = tmp_path / "hello.cob"
    program.write_text("DISPLAY 'HI'.")
    done = subprocess.run([sys.executable, "-m", "executor", "run", "intercal",
                           str(program)], capture_output=True, text=True,
                          cwd=config.PROJECT_DIR, check=False)  # fmt: skip
    assert done.returncode != 0
    assert "language 'intercal' is not installed" in done.stderr
    assert "Traceback" not in done.stderr


async def test_requests_arriving_together_start_one_supervisor():
    before = _our_supervisors()
    backend = LocalBackend(config.get())
    await asyncio.gather(*(backend._connection() for _ in range(6)))
    started = _our_supervisors() - before
    await backend.aclose()
    assert len(started) == 1


def _our_supervisors() -> set[str]:
    return {
        p for p in os.listdir("/proc") if p.isdigit()
        and b"executor.supervisor" in _cmdline(p) and _parent(p) == os.getpid()
    }  # fmt: skip


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _parent(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def test_an_init_that_ended_before_the_supervisor_looked_is_not_an_error():
    # A compiled hello can end, and take its init with it, before pidfd_open.
    ended = subprocess.Popen(["/bin/true"])
    ended.wait()
    assert stage._pidfd(ended.pid) is None
