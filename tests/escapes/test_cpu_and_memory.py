"""CPU time is summed over every thread and process of a run, memory is one
budget for all of them, and a crash is reported as what it is."""

import asyncio
import re

import pytest

from tests.conftest import ROOMY_WALL_MS, execute, raised_maxima
from tests.escapes.running import FAST, timed

pytestmark = pytest.mark.usefixtures("host_is_clean")

MIB = 1 << 20
MEMORY = 256 * MIB  # the memory limit these tests ask for: the default
# Over a limit by at most one CPU period (100 ms) and the 50 ms poll.
CPU_SLACK_MS = 150
# The CPU limit must be what ends these runs: on a busy machine a spinning run
# may get a fifth of a CPU, and would reach the site's 3 s wall time first.
CPU_LIMIT = {"run_timeout": ROOMY_WALL_MS, "run_cpu_time": 1000}


def roomy():
    return raised_maxima(run_wall_time_ms=ROOMY_WALL_MS)


SPINNING_THREADS = r"""
#include <pthread.h>
static void *spin(void *arg) { volatile unsigned long x = 0; for (;;) x++; return arg; }
int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], 0, spin, 0);
    pthread_join(t[0], 0);
}
"""

# Touches every page, through a volatile pointer the compiler cannot elide.
TOUCH_PAGES = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    size_t n = (size_t)%dUL << 20;
    volatile char *p = malloc(n);
    if (!p) return 3;
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    printf("touched %%d\n", p[n - 4096]);
}
"""


async def test_thread_bomb_is_stopped_by_cpu_summed_over_threads(backend):
    source = r"""
#include <pthread.h>
#include <stdio.h>
static void *spin(void *arg) { for (;;) ; return arg; }
int main(void) {
    pthread_t t;
    int made = 0, refused = 0;
    for (;;) {
        if (pthread_create(&t, 0, spin, 0) == 0) made++;
        else if (!refused++) { printf("refused after %d\n", made); fflush(stdout); }
    }
}
"""
    result = await execute(backend, "c", source, settings=roomy(), **CPU_LIMIT)
    run = result["run"]
    assert run["status"] == "TO"
    assert "CPU" in run["message"]
    made = int(re.search(r"refused after (\d+)", run["stdout"]).group(1))
    assert made < 64, "threads count against the process limit"
    # CPU is summed over the threads: on an idle host they use the run's
    # whole CPU quota, so CPU time keeps up with wall time until the limit
    # (on a busy host the wall time stretches instead).
    assert run["cpu_time"] >= min(run["wall_time"], 1000)


async def test_cpu_spread_over_processes_is_summed_and_spares_others(backend):
    spinners = """
import multiprocessing as mp
def spin():
    while True:
        pass
for _ in range(16):
    mp.Process(target=spin).start()
"""
    canary = "print(sum(range(10**6)))"
    spun, ran = await asyncio.gather(
        execute(backend, "python", spinners, settings=roomy(), **CPU_LIMIT),
        execute(backend, "python", canary, **FAST),
    )
    run = spun["run"]
    assert run["status"] == "TO"
    assert "CPU" in run["message"]
    # Per process each spinner used ~1/16 of a second: only the sum stops them.
    assert 1000 <= run["cpu_time"] <= 1000 + CPU_SLACK_MS
    # One CPU's quota for the whole run: the host's other cores stay free.
    assert run["cpu_time"] <= run["wall_time"] + CPU_SLACK_MS
    assert ran["run"]["status"] is None
    assert ran["run"]["stdout"] == f"{sum(range(10**6))}\n"


async def test_busy_loop_stops_promptly_at_the_cpu_limit(backend):
    source = "int main(void) { volatile unsigned long x = 0; for (;;) x++; }"
    result = await execute(backend, "c", source, settings=roomy(), **CPU_LIMIT)
    run = result["run"]
    assert run["status"] == "TO"
    assert "CPU" in run["message"]
    assert 1000 <= run["cpu_time"] <= 1000 + CPU_SLACK_MS


async def test_cpu_limit_counts_every_thread(backend):
    # Four spinning threads are stopped after about one second of CPU summed
    # over all of them, long before the wall limit. The run's cgroup has one
    # CPU's quota, so wall time is about one second too (more on a busy
    # host); on many cores without that quota it would be a quarter of it.
    result = await execute(
        backend, "c", SPINNING_THREADS, settings=roomy(), **CPU_LIMIT
    )
    run = result["run"]
    assert run["status"] == "TO"
    assert "CPU" in run["message"]
    assert 1000 <= run["cpu_time"] <= 1000 + CPU_SLACK_MS


async def test_huge_allocation_touched_page_by_page_is_memory_limit(backend):
    result = await execute(backend, "c", TOUCH_PAGES % 8192, run_memory_limit=MEMORY)
    run = result["run"]
    # Overcommit lets the 8 GiB malloc succeed; touching it hits the cgroup.
    # Had malloc failed, the program would exit 3: also contained.
    assert run["status"] == "ML" or (run["status"], run["code"]) == ("RE", 3)
    assert "touched" not in run["stdout"]
    assert run["memory"] <= MEMORY + MIB


async def test_single_process_over_the_memory_limit_is_ml(backend):
    result = await execute(backend, "c", TOUCH_PAGES % 512, run_memory_limit=MEMORY)
    run = result["run"]
    assert run["status"] == "ML"
    assert "Memory limit" in run["message"]
    assert run["memory"] <= MEMORY + MIB


async def test_memory_of_all_processes_shares_one_limit(backend):
    # The kernel may kill one child only, and the parent then exits 0: the
    # run is still a memory-limit verdict.
    source = """
import os, time
kids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = bytearray(100 * 1024 * 1024)
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print("parent finished")
"""
    result = await execute(backend, "python", source, run_memory_limit=MEMORY)
    run = result["run"]
    assert run["status"] == "ML"
    assert MEMORY - 16 * MIB <= run["memory"] <= MEMORY + MIB


async def test_memory_peak_reports_what_was_touched(backend):
    result = await execute(backend, "c", TOUCH_PAGES % 100)
    run = result["run"]
    assert run["status"] is None
    assert run["stdout"] == "touched 1\n"
    assert 100 * MIB <= run["memory"] <= 130 * MIB


async def test_stack_overflow_is_a_segfault_not_a_memory_limit(backend):
    source = """
int f(int n) { volatile char b[4096]; b[0] = n; return f(n + 1) + b[0]; }
int main(void) { return f(0); }
"""
    result = await execute(backend, "c", source, **FAST)
    run = result["run"]
    assert (run["status"], run["signal"]) == ("SG", "SIGSEGV")
    assert "invalid memory access" in run["message"]


async def test_abort_is_reported_and_leaves_no_core_file(backend):
    # A child aborts first so that the parent can look for its core file.
    source = r"""
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    struct rlimit core;
    getrlimit(RLIMIT_CORE, &core);
    printf("core limit %ld\n", (long)core.rlim_cur);
    pid_t child = fork();
    if (child == 0) abort();
    int status;
    waitpid(child, &status, 0);
    printf("child dumped %d\n", WCOREDUMP(status) ? 1 : 0);
    DIR *work = opendir(".");
    for (struct dirent *e; (e = readdir(work));)
        if (strncmp(e->d_name, "core", 4) == 0) printf("ESCAPED core %s\n", e->d_name);
    fflush(stdout);
    abort();
}
"""
    result = await execute(backend, "c", source)
    run = result["run"]
    assert (run["status"], run["signal"]) == ("SG", "SIGABRT")
    assert "aborted" in run["message"]
    assert run["stdout"] == "core limit 0\nchild dumped 0\n"


async def test_output_written_before_a_time_limit_is_kept(backend):
    source = """
import sys
sys.stdout.write("flushed line\\n"); sys.stdout.flush()
print("buffered line")
n = 0
while True:
    n += 1
"""
    result = await execute(backend, "python", source, **FAST)
    run = result["run"]
    assert run["status"] == "TO"
    assert "CPU" in run["message"] or "Wall" in run["message"]
    assert run["stdout"] == "flushed line\nbuffered line\n"


async def test_fork_bomb_neither_fails_a_concurrent_run_nor_slows_the_next(backend):
    bomb = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    # The victim forks once the bomb has filled its own process limit.
    victim = """
import os, time
time.sleep(0.3)
kids = []
for _ in range(20):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print("forked", len(kids))
"""
    (bombed, elapsed), survived = await asyncio.gather(
        timed(execute(backend, "python", bomb, **FAST)),
        execute(backend, "python", victim, **FAST),
    )
    assert bombed["run"]["status"] == "TO"
    assert elapsed < 2
    assert survived["run"]["status"] is None
    assert survived["run"]["stdout"] == "forked 20\n"

    hello, latency = await timed(execute(backend, "bash", "echo hello"))
    assert hello["run"]["stdout"] == "hello\n"
    assert latency < 1
