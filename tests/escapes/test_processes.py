"""Every process a run starts ends with it; the run sees only its own."""

import time

import pytest

from executor import config
from executor.events import Output
from executor.requests import build_job
from playground.registry import registry
from tests.conftest import ROOMY_WALL_MS, execute, raised_maxima, sandbox_processes

pytestmark = pytest.mark.usefixtures("host_is_clean")

FAST = {"run_timeout": 1000, "run_cpu_time": 1000}


async def test_host_processes_are_invisible(backend):
    source = (
        "import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    )
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"].strip() == "[1, 2]"


async def test_init_is_the_sandbox_own_and_unreadable(backend):
    source = """
print(open("/proc/1/cmdline", "rb").read().split(b"\\0")[0])
for what in ("environ", "mem", "fd/0"):
    try:
        open(f"/proc/1/{what}", "rb").read(1)
        print("ESCAPED", what)
    except OSError as exc:
        print("BLOCKED", what, exc.errno)
"""
    result = await execute(backend, "python", source)
    assert "ESCAPED" not in result["run"]["output"]
    assert result["run"]["stdout"].count("BLOCKED") == 3


async def test_the_program_starts_with_default_signals(backend):
    # A disposition set to "ignore" survives exec: one left over from whatever
    # started the sandbox would change how the program reacts to a signal.
    result = await execute(backend, "bash", "grep -E '^Sig(Blk|Ign)' /proc/self/status")
    assert result["run"]["stdout"] == (
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
    )


async def test_the_program_holds_only_its_three_streams(backend):
    source = """
import os
def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
print([fd for fd in range(4096) if is_open(fd)])
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "[0, 1, 2]\n"


async def test_environment_is_a_whitelist(backend):
    result = await execute(backend, "bash", "env")
    names = {line.split("=", 1)[0] for line in result["run"]["stdout"].splitlines()}
    assert names <= {
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "PWD",
        "SHLVL",
        "_",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONIOENCODING",
    }


async def test_fork_bomb_is_contained(backend):
    source = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    started = time.monotonic()
    result = await execute(backend, "python", source, **FAST)
    assert result["run"]["status"] == "TO"
    assert time.monotonic() - started < 4


async def test_shell_fork_bomb_is_contained(backend):
    result = await execute(backend, "bash", "b(){ b & b & wait; }; b", **FAST)
    assert result["run"]["status"] == "TO"


async def test_detached_fork_bomb_dies_when_the_main_shell_exits(backend):
    # The shell returns at once; whatever it left forking must die with it,
    # or the run would end at its wall limit. The shell forks each side of
    # the pipe itself: on a busy host the first side can use up the process
    # limit before the second fork, and bash then retries after a second.
    started = time.monotonic()
    result = await execute(backend, "bash", "b(){ b | b & }; b", run_timeout=3000)
    assert result["run"]["status"] is None
    assert time.monotonic() - started < 3


async def test_sleeping_program_ends_at_the_wall_limit(backend):
    result = await execute(backend, "python", "import time; time.sleep(10**6)", **FAST)
    assert result["run"]["status"] == "TO"
    assert "Wall" in result["run"]["message"]
    assert result["run"]["cpu_time"] < 500


async def test_stopped_program_ends_at_the_wall_limit(backend):
    result = await execute(
        backend, "bash", "echo before\nkill -STOP $$\necho after", **FAST
    )
    assert result["run"]["status"] == "TO"
    assert result["run"]["stdout"] == "before\n"


async def test_cpu_spin_ends_at_the_cpu_limit(backend):
    # A wall limit with room: on a busy machine the spin gets less of a CPU.
    result = await execute(
        backend, "c", "int main(void){ for(;;); }",
        settings=raised_maxima(run_wall_time_ms=ROOMY_WALL_MS),
        run_timeout=ROOMY_WALL_MS, run_cpu_time=1000,
    )  # fmt: skip
    assert result["run"]["status"] == "TO"
    assert "CPU" in result["run"]["message"]
    assert 900 <= result["run"]["cpu_time"] <= 1500


async def test_memory_bomb_ends_as_memory_limit(backend):
    source = "a = []\nwhile True: a.append(bytearray(10**7))"
    result = await execute(backend, "python", source, run_memory_limit=64 << 20)
    assert result["run"]["status"] == "ML"
    assert result["run"]["memory"] <= (64 << 20) + (1 << 20)


async def test_stdin_is_empty_not_the_server_terminal(backend):
    started = time.monotonic()
    result = await execute(backend, "python", "input()")
    assert result["run"]["status"] == "RE"
    assert "EOFError" in result["run"]["stderr"]
    assert time.monotonic() - started < 2


async def test_descriptor_exhaustion_is_an_ordinary_error(backend):
    source = "fs = []\nwhile True: fs.append(open('/dev/null'))"
    result = await execute(backend, "python", source)
    assert result["run"]["status"] == "RE"
    assert "Too many open files" in result["run"]["stderr"]


async def test_the_host_check_sees_a_running_program(backend):
    # Guards the guard: the leftover-process check must see a live sandbox.
    job_source = "import time\nprint('up', flush=True)\ntime.sleep(30)"
    job, _ = build_job(
        {"language": "python", "files": [{"content": job_source}]},
        registry(),
        config.get(),
        1024,
    )
    run = await backend.submit(job)
    async for event in run.events():
        if isinstance(event, Output):
            break
    assert sandbox_processes(set(backend.supervisor_pids())) != []
    await run.stop()
    async for _ in run.events():
        pass
