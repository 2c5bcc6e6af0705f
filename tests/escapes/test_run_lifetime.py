"""A run ends completely when its verdict arrives, whatever it left behind,
stopped or signalled, and concurrent runs never meet."""

import asyncio

import pytest

from playground.registry import registry
from tests.conftest import execute, sandbox_processes
from tests.escapes.running import FAST, timed

pytestmark = pytest.mark.usefixtures("host_is_clean")

DOUBLE_FORKED_DAEMON = """
import os, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
while True:
    with open("/work/late.txt", "a") as f:
        f.write("x")
    time.sleep(0.1)
"""

DETACHED_CHILDREN = """
( sleep 30; echo late ) &
setsid sh -c 'sleep 300' >/dev/null 2>&1 < /dev/null &
echo done
"""


@pytest.mark.parametrize(
    ("language", "source", "stdout"),
    [("python", DOUBLE_FORKED_DAEMON, ""), ("bash", DETACHED_CHILDREN, "done\n")],
    ids=["double-forked-daemon", "background-and-setsid"],
)
async def test_nothing_of_a_run_outlives_its_verdict(backend, language, source, stdout):
    registry()  # detecting the runtimes' versions is no part of the run
    result, elapsed = await timed(execute(backend, language, source))
    # Checked at once, with no grace period: the verdict means it is over.
    assert sandbox_processes(set(backend.supervisor_pids())) == []
    assert elapsed < 1
    assert (result["run"]["status"], result["run"]["code"]) == (None, 0)
    assert result["run"]["stdout"] == stdout


async def test_stopping_the_whole_group_ends_at_the_wall_limit(backend):
    script = "echo before\nkill -STOP 0\necho after"
    result, elapsed = await timed(execute(backend, "bash", script, **FAST))
    run = result["run"]
    assert run["status"] == "TO"
    assert "Wall" in run["message"]
    assert run["stdout"] == "before\n"
    assert elapsed < 1 + 0.5


async def test_signalling_everything_reaches_only_the_run(backend):
    script = """
echo "self $$"
sleep 30 & s=$!
kill -9 -1; echo "all $?"
kill -9 1 2>/dev/null; echo "init $?"
wait $s; echo "sleep $?"
for p in $(seq 2 40000); do kill -0 $p 2>/dev/null && echo "alive $p"; done
echo survived
"""
    canary = "import time\ntime.sleep(0.5)\nprint('canary ok')"
    signalled, watched = await asyncio.gather(
        execute(backend, "bash", script),
        execute(backend, "python", canary),
    )
    run = signalled["run"]
    lines = run["stdout"].splitlines()
    self_pid = lines[0].split()[1]
    # As root the init is another host id and the kill fails; as an ordinary
    # user it is sent and pid 1 ignores it. Either way the run goes on.
    assert lines[1] == "all 0" and lines[2] in ("init 0", "init 1")
    assert lines[3:] == ["sleep 137", f"alive {self_pid}", "survived"]
    assert (run["status"], run["code"]) == (None, 0)
    assert watched["run"]["status"] is None
    assert watched["run"]["stdout"] == "canary ok\n"


async def test_concurrent_runs_cannot_see_each_other(backend):
    holder = """
import time
for d in ("/work", "/tmp", "/dev/shm"):
    open(f"{d}/secret-A", "w").write("token-4f1c")
print("ready", flush=True)
time.sleep(1.5)
"""
    seeker = """
import glob, os, time
time.sleep(0.5)
found = glob.glob("/proc/*/root/work/*") + glob.glob("/proc/*/cwd/*")
for top in ("/work", "/tmp", "/dev/shm", "/"):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/usr")]
        found += [os.path.join(root, n) for n in files]
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        found.append(open(f"/proc/{pid}/cmdline", "rb").read().decode())
    except OSError:
        pass
print(sorted(set(p for p in found if "secret" in p)))
"""
    held, sought = await asyncio.gather(
        execute(backend, "python", holder), execute(backend, "python", seeker)
    )
    assert held["run"]["stdout"] == "ready\n"
    assert sought["run"]["status"] is None
    assert "token-4f1c" not in sought["run"]["output"]
    assert sought["run"]["stdout"] == "[]\n"


async def test_nothing_persists_in_shared_temporary_places(backend):
    source = """
import os
for d in ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/work"]:
    p = d + "/canary"
    print(p, "ESCAPED-persisted" if os.path.exists(p) else "new")
    try:
        open(p, "w").write("x")
    except OSError as e:
        print(p, "ro", e.errno)
"""
    first = await execute(backend, "python", source)
    second = await execute(backend, "python", source)
    assert first["run"]["status"] is None
    assert "ESCAPED" not in second["run"]["output"]
    assert second["run"]["stdout"] == first["run"]["stdout"]


async def test_no_terminal_is_inherited(backend):
    source = """
import os, sys
print([os.isatty(fd) for fd in (0, 1, 2)])
print(repr(sys.stdin.buffer.read()))
try:
    open("/dev/tty", "rb")
    print("ESCAPED tty")
except OSError as exc:
    print("BLOCKED tty", exc.errno)
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "[False, False, False]\nb''\nBLOCKED tty 2\n"
