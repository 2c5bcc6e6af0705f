"""The system-call filter: every call that could reach past the sandbox's own
namespaces is refused, other ABIs are killed, and ordinary programs work."""

import errno

import pyseccomp
import pytest

from executor.sandbox.seccomp import DENIED
from tests.conftest import execute

pytestmark = pytest.mark.usefixtures("host_is_clean")

PROBE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
for item in sys.argv[1:]:
    name, number = item.split(":")
    ctypes.set_errno(0)
    result = libc.syscall(int(number), 0, 0, 0, 0, 0, 0)
    print(name, result, ctypes.get_errno())
"""


def native_numbers(names: list[str]) -> list[str]:
    numbered = []
    for name in names:
        try:
            number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
        except ValueError:
            continue
        if number >= 0:
            numbered.append(f"{name}:{number}")
    return numbered


async def test_filter_is_in_force(backend):
    result = await execute(backend, "bash", "grep -E '^Seccomp:' /proc/self/status")
    assert result["run"]["stdout"].split() == ["Seccomp:", "2"]


async def test_calls_that_reach_past_the_sandbox_are_refused(backend):
    probes = native_numbers(DENIED)
    assert len(probes) > 30

    result = await execute(backend, "python", PROBE, args=probes)

    lines = result["run"]["stdout"].splitlines()
    assert len(lines) == len(probes)
    for line in lines:
        name, value, err = line.split()
        assert (value, int(err)) == ("-1", errno.EPERM), line


async def test_new_namespaces_cannot_be_created(backend):
    source = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
pid = libc.syscall(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
if pid == 0:
    os._exit(0)
print("ESCAPED clone" if pid > 0 else f"BLOCKED clone {ctypes.get_errno()}")
print("BLOCKED unshare" if libc.unshare(CLONE_NEWUSER) else "ESCAPED unshare")
"""
    result = await execute(backend, "python", source)
    assert "ESCAPED" not in result["run"]["output"]


async def test_only_the_program_s_own_limits_can_be_changed(backend):
    source = """
import errno, os, resource
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
print("own", resource.getrlimit(resource.RLIMIT_NOFILE)[0])
child = os.fork()
if child == 0:
    os.pause()
for name, pid in (("init", 1), ("child", child)):
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (1, 1))
        print(name, "changed")
    except OSError as exc:
        print(name, errno.errorcode[exc.errno])
os.kill(child, 9)
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "own 64\ninit EPERM\nchild EPERM\n"


async def test_threads_and_processes_still_work(backend):
    source = """
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
static void *work(void *arg) { return arg; }
int main(void) {
    pthread_t t;
    if (pthread_create(&t, 0, work, 0) || pthread_join(t, 0)) return 1;
    pid_t pid = fork();
    if (pid == 0) _exit(3);
    int status;
    waitpid(pid, &status, 0);
    printf("thread ok, child %d\\n", WEXITSTATUS(status));
}
"""
    result = await execute(backend, "c", source)
    assert result["run"]["stdout"] == "thread ok, child 3\n"


async def test_x32_system_calls_are_refused(backend):
    source = """
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    long r = syscall(0x40000000 | SYS_getpid);
    printf(r > 0 ? "ESCAPED x32\\n" : "BLOCKED x32\\n");
}
"""
    result = await execute(backend, "c", source)
    assert "ESCAPED" not in result["run"]["output"]


async def test_i386_system_calls_kill_the_program(backend):
    source = """
#include <stdio.h>
int main(void) {
    long r;
    __asm__ volatile ("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    printf("ESCAPED int80 %ld\\n", r);
}
"""
    result = await execute(backend, "c", source)
    assert "ESCAPED" not in result["run"]["output"]
    assert result["run"]["signal"] in ("SIGSYS", "SIGSEGV")
