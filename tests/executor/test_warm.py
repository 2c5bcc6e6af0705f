"""Interpreters started before their run (executor/pool.py Warm,
launcher/warm.c): a pooled sandbox of a runtime that allows it runs its
interpreter ahead of demand. A run that takes it must behave as if its
interpreter had started for it: the same output, errors, files, limits and
isolation. Every test drives a real supervisor and real sandboxes."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import marshal
import os
import time
from collections.abc import AsyncIterator

import pytest

from executor import config
from executor.backends.local import LocalBackend
from executor.events import Output, StageExited
from executor.job import File, Job, Stage, new_run_id
from executor.limits import MIB, Limits
from executor.results import StageResult
from tests.conftest import idle_pool_processes, pool_settled

PYTHON = "/usr/bin/python3"
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/work", "PYTHONUNBUFFERED": "1"}
# An idle warm sandbox: its init, its interpreter and the feeder.
WARM_PROCESSES = 3


@pytest.fixture
async def warm_pool() -> AsyncIterator[LocalBackend]:
    backend = LocalBackend(dataclasses.replace(config.get(), pool_size=1))
    yield backend
    await backend.aclose()


def python_job(
    code: str,
    *,
    prestart: bool = True,
    args: list[str] | None = None,
    more_files: list[File] | None = None,
    limits: Limits | None = None,
    stdin: bytes = b"",
) -> Job:
    limits = limits or config.get().stage_limits("run", 64 * 1024)
    stages = [Stage("run", [PYTHON, "./main.py", *(args or [])], limits)]
    files = [File("main.py", code.encode()), *(more_files or [])]
    return Job(new_run_id(), "python", "3", files, stages, dict(ENV), stdin=stdin,
               stdout_terminal=False, prestart=prestart)  # fmt: skip


@dataclasses.dataclass
class Ran:
    stdout: str
    stderr: str
    result: StageResult
    submitted: float  # time.monotonic() when the job was submitted


async def run(backend: LocalBackend, job: Job) -> Ran:
    submitted = time.monotonic()
    handle = await backend.submit(job)
    out = {"stdout": "", "stderr": ""}
    result = None
    async for event in handle.events():
        if isinstance(event, Output):
            out[event.stream] += event.data.decode()
        elif isinstance(event, StageExited):
            result = event.result
    assert result is not None
    return Ran(out["stdout"], out["stderr"], result, submitted)


async def warmed(backend: LocalBackend) -> set[int]:
    """Runs that teach the pool the kind of run (the second takes what was
    made before the first); the idle sandboxes' pids once it holds warm
    interpreters."""
    for _ in range(2):
        await run(backend, python_job("pass"))
    supervisor = backend.supervisor_pids()[0]
    await pool_settled(supervisor, size=1)
    idle = idle_pool_processes({supervisor})
    assert len(idle) == WARM_PROCESSES, "the pool holds no warm interpreter"
    return idle


# The interpreter's own start, in seconds of CLOCK_MONOTONIC (which is what
# /proc/<pid>/stat counts from, in clock ticks), then what a program sees.
STARTED = """
import os
ticks = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])
print(ticks / os.sysconf('SC_CLK_TCK'))
"""


def started_before_submit(ran: Ran) -> bool:
    started = float(ran.stdout.splitlines()[0])
    return started < ran.submitted - 0.05  # ticks are 10 ms


async def test_a_run_takes_an_interpreter_started_before_it(warm_pool):
    idle = await warmed(warm_pool)

    ran = await run(warm_pool, python_job(STARTED))

    assert ran.result.status is None, ran.stderr
    assert started_before_submit(ran), "the interpreter started with the run"
    assert not any(os.path.exists(f"/proc/{pid}") for pid in idle)


async def test_runs_with_arguments_or_more_files_start_their_own(warm_pool):
    await warmed(warm_pool)
    extra = File("data.txt", b"x")

    with_args = await run(warm_pool, python_job(STARTED, args=["a"]))
    with_files = await run(warm_pool, python_job(STARTED, more_files=[extra]))
    not_allowed = await run(warm_pool, python_job(STARTED, prestart=False))

    for ran in (with_args, with_files, not_allowed):
        assert ran.result.status is None, ran.stderr
        assert not started_before_submit(ran)


# Each program's output must not tell a warm interpreter from a cold one.
PROGRAMS = {
    "identity": """
import sys, __main__
print(sys.argv, sys.orig_argv, sys.path[0], __file__, __name__)
print(sorted(vars(__main__)), __main__.__spec__, __main__.__cached__)
print(type(__main__.__loader__).__name__, __main__.__loader__.path)
print(open(__file__).read().splitlines()[1])
import os; print(os.getcwd(), sorted(os.listdir('.')), oct(os.stat(__file__).st_mode))
""",
    "traceback": "def f():\n    return 1 // 0\n\nf()\n",
    "syntax error": "print('unclosed'\n",
    "exit message": "import sys\nprint('out')\nsys.exit('bye')\n",
    "input": "name = input('name? ')\nprint('hello', name)\nprint(input())\n",
    "coding": "# -*- coding: latin-1 -*-\nprint('caf\xe9')\n",
    # Declarations Python finds after a line ending in a lone "\r", or a long one.
    "coding after a carriage return": "\r# -*- coding: latin-1 -*-\rprint('\xe9')\r",
    "coding after a long comment": f"#{'-' * 2000}\n# coding: latin-1\nprint('\xe9')\n",
    "byte order mark": "\ufeffprint('bom')\n",
    "limits": """
import resource as r
print([r.getrlimit(k) for k in (r.RLIMIT_NOFILE, r.RLIMIT_FSIZE, r.RLIMIT_NPROC,
       r.RLIMIT_CPU, r.RLIMIT_CORE, r.RLIMIT_MEMLOCK, r.RLIMIT_MSGQUEUE)])
""",
    "environment": "import os, sys\nprint(sorted(os.environ.items()), sys.flags)\n",
    "stdio": """
import sys, os, stat
for f in (sys.stdin, sys.stdout, sys.stderr):
    mode = os.fstat(f.fileno()).st_mode
    print(f.encoding, f.line_buffering, f.isatty(), stat.S_ISFIFO(mode))
""",
    "processes": """
import os
print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
print(os.getpid(), os.getppid(), os.getuid(), os.getgid())
""",
    "compiled": "import sys\nprint('compiled', sys.argv)\n",
    "recursion": """
import sys
def depth(n=1):
    try:
        return depth(n + 1)
    except RecursionError:
        return n
print(sys.getrecursionlimit(), depth())
""",
}


# Programs whose first line must stay first, or which never run a line.
UNPREFIXED = {"byte order mark", "syntax error", "compiled"}
UNPREFIXED |= {name for name in PROGRAMS if name.startswith("coding")}


def compiled(code: str) -> bytes:
    """A program compiled for this Python (as a .pyc file holds it), which
    Python runs whatever the file's name."""
    header = importlib.util.MAGIC_NUMBER + bytes(12)
    return header + marshal.dumps(compile(code, "main.py", "exec"))


@pytest.mark.parametrize("name", PROGRAMS)
async def test_a_warm_run_is_indistinguishable_from_a_cold_one(warm_pool, name):
    code = PROGRAMS[name]
    if name.startswith("coding"):
        source = code.encode("latin-1")
    elif name == "compiled":
        source = compiled(code)
    elif name in UNPREFIXED:
        source = code.encode()
    else:  # its first line of output says when its interpreter started
        source = (STARTED.replace("\n", ";").strip(";") + "\n" + code).encode()
    await warmed(warm_pool)

    def job(prestart: bool) -> Job:
        made = python_job("", prestart=prestart, stdin=b"ada\nlast line\n")
        return dataclasses.replace(made, files=[File("main.py", source)])

    warm = await run(warm_pool, job(prestart=True))
    cold = await run(warm_pool, job(prestart=False))

    if name not in UNPREFIXED:
        assert started_before_submit(warm) and not started_before_submit(cold)
        warm.stdout, cold.stdout = (
            ran.stdout.split("\n", 1)[1] for ran in (warm, cold)
        )
    assert (warm.stdout, warm.stderr) == (cold.stdout, cold.stderr)
    assert (warm.result.status, warm.result.code, warm.result.signal) == (
        cold.result.status,
        cold.result.code,
        cold.result.signal,
    )
    assert warm.stdout or warm.stderr


async def warm_run(backend: LocalBackend, code: str, limits: Limits) -> Ran:
    """A run that took a warm interpreter (its first line says when it
    started)."""
    await warmed(backend)
    ran = await run(backend, python_job(STARTED + code, limits=limits))
    assert started_before_submit(ran), "the run did not take a warm interpreter"
    return ran


async def test_the_runs_limits_hold_in_a_warm_interpreter(warm_pool):
    limits = dataclasses.replace(
        config.get().stage_limits("run", 64 * 1024),
        memory_bytes=48 * MIB,
        cpu_time_ms=400,
        wall_time_ms=10_000,
        output_bytes=1000,
    )
    forking = dataclasses.replace(limits, processes=4, cpu_time_ms=2000)

    memory = await warm_run(warm_pool, "x = bytearray(120 << 20)", limits)
    cpu = await warm_run(warm_pool, "while True: pass", limits)
    output = await warm_run(warm_pool, "print('x' * 5000)", limits)
    forks = await warm_run(warm_pool, "while True: os.fork() or os._exit(0)", forking)

    assert memory.result.status == "ML"
    assert cpu.result.status == "TO" and "CPU time limit" in str(cpu.result.message)
    assert output.result.status == "OL" and output.result.stdout_truncated
    assert len(output.stdout) == 1000
    assert forks.result.status == "RE" and "BlockingIOError" in forks.stderr


async def test_an_interpreter_that_never_waits_fails_closed(warm_pool, capfd):
    # A "runtime" whose interpreter exits at once never reads its program: its
    # warm sandboxes fail, and the run gets a sandbox of its own.
    await warmed(warm_pool)
    job = python_job("")
    exits = dataclasses.replace(job.stages[0], argv=["/bin/false", "./main.py"])
    job = dataclasses.replace(job, stages=[exits])

    first = await run(warm_pool, job)
    await asyncio.sleep(1)
    second = await run(warm_pool, job)
    log = capfd.readouterr().err

    assert (first.result.code, second.result.code) == (1, 1)
    assert "pool sandbox pool-" in log and "the pool retries in" in log


async def test_a_failed_step_of_the_feeder_fails_closed(warm_pool, capfd):
    # No process may raise its own hard limit: the feeder's prlimit fails, as
    # a cold program child's setrlimit would.
    limits = config.get().stage_limits("run", 64 * 1024)
    unreachable = dataclasses.replace(limits, open_files=2**40)
    idle = await warmed(warm_pool)

    ran = await run(warm_pool, python_job("print('ran')", limits=unreachable))

    assert not any(os.path.exists(f"/proc/{pid}") for pid in idle), "not taken"
    assert ran.result.status == "XX"
    assert ran.stdout == ""
    assert "sandbox step 'rlimits' failed" in capfd.readouterr().err
