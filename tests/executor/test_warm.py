"""Interpreters started before their run (executor/pool.py Warm): a pooled
sandbox of a runtime that allows it holds its interpreter started ahead of
demand, forked from the zygote (launcher/zygote.c) or, without one, started
on a FIFO (launcher/warm.c). A run that takes it must behave as if its
interpreter had started for it: the same output, errors, files, limits and
isolation. Most tests run with each; every test drives a real supervisor and
real sandboxes."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import marshal
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from executor import config
from executor.backends.local import LocalBackend
from executor.events import Output, StageExited
from executor.job import File, Job, Stage, new_run_id
from executor.limits import MIB, Limits
from executor.results import StageResult
from executor.sandbox import namespaces
from tests.conftest import (
    _cmdline,
    children,
    idle_pool_processes,
    is_zygote,
    pool_settled,
)
from tests.executor.test_pool import wait_for_log

PYTHON = "/usr/bin/python3"
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/work", "PYTHONUNBUFFERED": "1"}


class WarmPool(LocalBackend):
    """A pool of one warm sandbox, made one way."""

    def __init__(self, zygote: bool) -> None:
        super().__init__(dataclasses.replace(config.get(), pool_size=1, zygote=zygote))
        self.zygote = zygote
        # An idle warm sandbox: its init and its interpreter, and on a FIFO
        # the feeder too.
        self.processes = 2 if zygote else 3
        self.marker = ""  # what STARTED prints of the zygote's interpreter


@pytest.fixture(params=["zygote", "fifo"])
async def warm_pool(request: pytest.FixtureRequest) -> AsyncIterator[WarmPool]:
    backend = WarmPool(zygote=request.param == "zygote")
    yield backend
    await backend.aclose()


@pytest.fixture
async def fifo_pool() -> AsyncIterator[WarmPool]:
    backend = WarmPool(zygote=False)
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


async def run(backend: LocalBackend, job: Job) -> Ran:
    handle = await backend.submit(job)
    out = {"stdout": "", "stderr": ""}
    result = None
    async for event in handle.events():
        if isinstance(event, Output):
            out[event.stream] += event.data.decode()
        elif isinstance(event, StageExited):
            result = event.result
    assert result is not None
    return Ran(out["stdout"], out["stderr"], result)


async def warmed(backend: WarmPool) -> set[int]:
    """Runs that teach the pool the kind of run (the second takes what was
    made before the first); the idle sandboxes' pids once it holds warm
    interpreters. The first time, a zygote's marker is learnt."""
    for _ in range(2):
        await run(backend, python_job("pass"))
    idle = await _warm_idle(backend)
    if backend.zygote and not backend.marker:
        ran = await run(backend, python_job(STARTED))
        backend.marker = ran.stdout.split()[1]
        idle = await _warm_idle(backend)
    return idle


async def _warm_idle(backend: WarmPool) -> set[int]:
    supervisor = backend.supervisor_pids()[0]
    # A sandbox whose interpreter is on its way looks settled while its
    # program child has not yet started the interpreter and its feeder.
    for _ in range(10):
        await pool_settled(supervisor, size=1)
        idle = idle_pool_processes({supervisor})
        if len(idle) == backend.processes:
            return idle
    raise AssertionError("the pool holds no warm interpreter")


# Whether the program's interpreter started before its run. On a FIFO: the
# feeder took pid 3 of its sandbox, so that the program's first child is
# pid 4 (a pooled sandbox's program child, which execs the interpreter when
# its run comes, forked before the run too). From the zygote: the string
# hashes as in every interpreter the zygote forked (one hash secret).
STARTED = (
    "import os; child = os.fork(); child or os._exit(0); os.waitpid(child, 0); "
    "print(child == 4, hash('playground'))\n"
)


def took_warm_interpreter(backend: WarmPool, ran: Ran) -> bool:
    fifo_marker, hashed = ran.stdout.splitlines()[0].split()
    if backend.zygote:
        return hashed == backend.marker
    return fifo_marker == "True"


async def test_a_run_takes_an_interpreter_started_before_it(warm_pool):
    idle = await warmed(warm_pool)

    ran = await run(warm_pool, python_job(STARTED))

    assert ran.result.status is None, ran.stderr
    assert took_warm_interpreter(warm_pool, ran), "its interpreter started with it"
    assert not any(os.path.exists(f"/proc/{pid}") for pid in idle)


async def test_runs_with_arguments_or_more_files_start_their_own(warm_pool):
    await warmed(warm_pool)
    extra = File("data.txt", b"x")

    with_args = await run(warm_pool, python_job(STARTED, args=["a"]))
    with_files = await run(warm_pool, python_job(STARTED, more_files=[extra]))
    not_allowed = await run(warm_pool, python_job(STARTED, prestart=False))

    for ran in (with_args, with_files, not_allowed):
        assert ran.result.status is None, ran.stderr
        assert not took_warm_interpreter(warm_pool, ran)


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
    # Python stops reading a program at a byte it cannot decode: the rest of
    # a long one never leaves the feeder.
    "undecodable": "print('\udcff')\n" + "x = 1\n" * 20_000,
    "interpreter": """
import signal, sys, traceback
print(sorted(sys.modules))
print(sorted(sys.path_importer_cache), sys.path)
print(sys._getframe().f_back, traceback.format_stack())
print([signal.getsignal(s) for s in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ,
       signal.SIGTERM, signal.SIGCHLD)], signal.pthread_sigmask(signal.SIG_BLOCK, []))
""",
    "process": """
import os
keep = ("Uid", "Gid", "Groups", "Cap", "NoNewPrivs", "Seccomp", "Sig", "Cpus_all")
print([line for line in open("/proc/self/status") if line.startswith(keep)])
print(open("/proc/self/cmdline", "rb").read(), open("/proc/self/comm").read())
print(open("/proc/self/environ", "rb").read())
print(os.readlink("/proc/self/exe"), os.readlink("/proc/self/cwd"))
""",
    "interrupted": "print('before')\nraise KeyboardInterrupt\n",
    "exit": """
import atexit, threading, time
atexit.register(print, "at exit")
threading.Thread(target=lambda: (time.sleep(0.2), print("thread"))).start()
print("main")
""",
    # At exit Python clears __main__'s names: finalizers run, files flush.
    "finalized": """
import os
class Goodbye:
    def __del__(self):
        print("finalized")
goodbye = Goodbye()
late = os.fdopen(os.dup(1), "w")
late.write("flushed as its file is finalized\\n")
""",
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


# Every readable byte of the program's memory, searched for the host's side
# of its sandbox (the cgroup's path, the view's plan), which exec leaves none
# of. The patterns never match themselves.
MEMORY_SEARCH = """
import re
host = re.compile(rb"playground[-]root[-]|cgroup[.]procs|/sys/fs/c[g]roup|[-]-/tmp")
found, scanned = set(), 0
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        span, perms, *_ = line.split()
        start, end = (int(x, 16) for x in span.split("-"))
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except (OSError, OverflowError):  # [vvar], [vsyscall]
            continue
        scanned += len(data)
        found |= {match.group() for match in host.finditer(data)}
print(sorted(found), scanned > 4 << 20)
"""


# Programs that end in an error, as they must: every other one succeeds, so
# that two runs failing alike never pass for two runs alike.
FAILING = {"traceback", "syntax error", "exit message", "interrupted", "undecodable"}

# Programs whose first line must stay first, or which never run a line.
UNPREFIXED = {"byte order mark", "syntax error", "compiled", "undecodable"}
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
        source = code.encode(errors="surrogateescape")
    else:  # its first line of output says when its interpreter started
        source = (STARTED + code).encode()
    await warmed(warm_pool)

    def job(prestart: bool) -> Job:
        made = python_job("", prestart=prestart, stdin=b"ada\nlast line\n")
        return dataclasses.replace(made, files=[File("main.py", source)])

    warm = await run(warm_pool, job(prestart=True))
    cold = await run(warm_pool, job(prestart=False))

    if name not in UNPREFIXED:
        assert took_warm_interpreter(warm_pool, warm)
        assert not took_warm_interpreter(warm_pool, cold)
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
    assert (warm.result.status is None) == (name not in FAILING), warm.stderr


async def test_a_warm_program_finds_nothing_of_the_host_in_its_memory(warm_pool):
    limits = config.get().stage_limits("run", 64 * 1024)

    ran = await warm_run(warm_pool, MEMORY_SEARCH, limits)

    assert ran.stdout.splitlines()[1:] == ["[] True"], ran.stderr


# The program's stack, searched for host pids that the zygote, the helper or
# the init held on theirs: the supervisor's (as text, or as a number where
# the helper keeps it after the namespace flags, or as the 64 bits that a
# parse of /proc/self/stat gives it), their own (as text, for the cgroup).
# A program started anew has none of them.
STACK_SEARCH = """
import re, struct
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    (span,) = (line.split()[0] for line in maps if line.rstrip().endswith("[stack]"))
    start, end = (int(x, 16) for x in span.split("-"))
    mem.seek(start)
    stack = mem.read(end - start)
print(re.findall(rb"(?<![0-9])[0-9]{3,}(?![0-9])", stack))
print(struct.pack("<Qi", NAMESPACES, SUPERVISOR) in stack,
      struct.pack("<Q", SUPERVISOR) in stack)
"""


async def test_a_warm_program_finds_no_host_pid_on_its_stack(warm_pool):
    limits = config.get().stage_limits("run", 64 * 1024)
    await warmed(warm_pool)
    supervisor = str(warm_pool.supervisor_pids()[0])

    search = STACK_SEARCH.replace("SUPERVISOR", supervisor)
    search = search.replace("NAMESPACES", str(namespaces.ALL))

    ran = await warm_run(warm_pool, search, limits)

    assert ran.stdout.splitlines()[1:] == ["[]", "False False"], ran.stderr


async def warm_run(backend: WarmPool, code: str, limits: Limits) -> Ran:
    """A run that took a warm interpreter (its first line says when it
    started)."""
    await warmed(backend)
    ran = await run(backend, python_job(STARTED + code, limits=limits))
    assert took_warm_interpreter(backend, ran), "it took no warm interpreter"
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


# From its first line a program finds nothing of the feeder: not in /proc,
# not against its process limit (4: itself and three children).
FEEDER_GONE = """
print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
children = 0
while True:
    try:
        if os.fork() == 0:
            time.sleep(10)  # killed with the sandbox when the program ends
            os._exit(0)
    except BlockingIOError:
        break
    children += 1
print(children)
"""


async def test_a_warm_program_never_finds_its_feeder(warm_pool):
    limits = config.get().stage_limits("run", 64 * 1024)
    limits = dataclasses.replace(limits, processes=4)
    for _ in range(5):  # the feeder, were it left, would be seen only at times
        ran = await warm_run(warm_pool, FEEDER_GONE, limits)
        assert ran.stdout.splitlines()[1:] == ["[1, 2]", "3"], ran.stderr


async def warm_sandbox(backend: WarmPool) -> tuple[int, int, int | None]:
    """A warm sandbox's init, interpreter and feeder (on a FIFO)."""
    idle = await warmed(backend)
    supervisor = backend.supervisor_pids()[0]
    (init,) = (pid for pid in idle if pid in children(supervisor))
    (python,) = (p for p in idle if _cmdline(p).startswith(PYTHON.encode()))
    feeder = next(iter(idle - {init, python}), None)
    return init, python, feeder


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_sent_as_a_warm_run_starts_waits_for_its_program(
    fifo_pool, capfd, signum
):
    # The feeder held still, the interpreter is still waiting for its program
    # when the signal comes: a SIGTERM would end it before its program was
    # its, a SIGINT could end its read between two lines (a truncated one).
    _, _, feeder = await warm_sandbox(fifo_pool)
    assert feeder is not None
    os.kill(feeder, signal.SIGSTOP)
    handle = await fifo_pool.submit(python_job("import time\ntime.sleep(5)\n"))
    await handle.send_signal(signum)
    await wait_for_log(capfd, f"forwarding {signum.name}")
    os.kill(feeder, signal.SIGCONT)
    exits = [e.result async for e in handle.events() if isinstance(e, StageExited)]

    assert [(r.status, r.signal) for r in exits] == [("SG", signum.name)], exits


async def test_an_interpreter_that_dies_while_idle_is_named_in_the_log(
    warm_pool, capfd
):
    _, python, _ = await warm_sandbox(warm_pool)
    os.kill(python, signal.SIGKILL)
    log = await wait_for_log(capfd, "the pool retries in")

    assert "its program ended while it waited for a run: SIGKILL" in log


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def until_state(pid: int, wanted: str) -> None:
    while state(pid) != wanted:
        await asyncio.sleep(0.01)


async def test_an_interpreter_dead_before_its_run_is_not_the_runs_end(fifo_pool):
    # It died while idle (root may end it), and its init, held still, has not
    # told the pool yet: the run that takes the sandbox learns that its
    # program never started, not that it was killed.
    init, python, feeder = await warm_sandbox(fifo_pool)
    assert feeder is not None
    os.kill(init, signal.SIGSTOP)
    os.kill(python, signal.SIGKILL)
    await until_state(python, "Z")

    running = asyncio.ensure_future(run(fifo_pool, python_job("print('hello')")))
    await until_state(feeder, "Z")  # it had the run, and found no reader
    os.kill(init, signal.SIGCONT)
    ran = await running
    again = await run(fifo_pool, python_job("print('hello')"))

    assert (ran.stdout, ran.result.status) == ("", "XX"), ran.result
    assert (again.stdout, again.result.status) == ("hello\n", None)


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
    log = await wait_for_log(capfd, "the pool retries in")

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
    # The supervisor logs a stage once its verdict is on its way.
    assert "sandbox step 'rlimits' failed" in await wait_for_log(
        capfd, "sandbox step 'rlimits' failed"
    )


def zygote_of(backend: WarmPool) -> int:
    supervisor = backend.supervisor_pids()[0]
    (pid,) = (p for p in children(supervisor) if is_zygote(p))
    return pid


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGSTOP])
async def test_runs_go_on_without_a_zygote_that_died_or_stopped(signum):
    # A stopped zygote never answers: the pool gives up on it as on a dead one,
    # and its runs start their own interpreter.
    backend = WarmPool(zygote=True)
    try:
        await warmed(backend)
        zygote = zygote_of(backend)
        os.kill(zygote, signum)
        ran = [await run(backend, python_job(STARTED)) for _ in range(3)]
        alive = os.path.exists(f"/proc/{zygote}")
    finally:
        await backend.aclose()

    assert [r.result.status for r in ran] == [None] * 3, ran
    assert not any(took_warm_interpreter(backend, r) for r in ran[1:])
    assert not alive


@pytest.fixture
def etc_file() -> Iterator[Path]:
    """A file of the host's /etc that a run's view may hold."""
    path = Path(f"/etc/playground-test-{os.getpid()}")
    path.write_text("first\n")
    yield path
    path.unlink()


async def test_a_file_of_etc_replaced_on_the_host_is_the_new_one(etc_file):
    # As ldconfig replaces /etc/ld.so.cache: a new file renamed over the old.
    # The zygote's own view held the old one; sandboxes made from it after
    # the change must hold the new one, as sandboxes made anew do.
    backend = WarmPool(zygote=True)
    job = dataclasses.replace(
        python_job(f"print(open({str(etc_file)!r}).read(), end='')"),
        readonly_paths=[str(etc_file)],
    )
    try:
        before = [await run(backend, job) for _ in range(3)]
        replacement = etc_file.with_suffix(".new")
        replacement.write_text("second\n")
        replacement.rename(etc_file)
        after = [await run(backend, job) for _ in range(3)]
    finally:
        await backend.aclose()

    assert [r.stdout for r in before] == ["first\n"] * 3
    assert [r.result.status for r in after] == [None] * 3, after[-1].result
    assert after[-1].stdout == "second\n"
