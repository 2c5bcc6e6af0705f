"""Kernel interfaces that reach past the run's own namespaces are refused
when called for real, with the arguments an exploit would pass."""

import socket
import time

import pytest

from tests.conftest import execute
from tests.escapes.running import C_PROBE

pytestmark = pytest.mark.usefixtures("host_is_clean")


def probe(includes: str, body: str) -> str:
    return f"{C_PROBE}{includes}\nint main(void) {{\n{body}\n}}\n"


async def run_probe(backend, includes: str, body: str) -> list[str]:
    result = await execute(backend, "c", probe(includes, body))
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert "ESCAPED" not in result["run"]["output"]
    return result["run"]["stdout"].splitlines()


async def test_the_init_cannot_be_traced_or_read(backend):
    lines = await run_probe(
        backend,
        "#include <sys/ptrace.h>\n#include <sys/uio.h>",
        """
    char buf[64];
    struct iovec local = {buf, sizeof buf}, remote = {buf, sizeof buf};
    TRY("ptrace-attach", ptrace(PTRACE_ATTACH, 1, 0, 0));
    TRY("ptrace-seize", ptrace(PTRACE_SEIZE, 1, 0, 0));
    TRY("process_vm_readv", process_vm_readv(1, &local, 1, &remote, 1, 0));
    TRY("process_vm_writev", process_vm_writev(1, &local, 1, &remote, 1, 0));
""",
    )
    assert len(lines) == 4


async def test_namespaces_of_the_init_cannot_be_entered(backend):
    lines = await run_probe(
        backend,
        "#include <fcntl.h>\n#include <sched.h>\n#include <sys/syscall.h>\n"
        "#include <unistd.h>",
        """
    const char *kinds[] = {"mnt", "pid", "net", "user", "uts", "ipc", "cgroup"};
    for (int i = 0; i < 7; i++) {
        char path[32];
        snprintf(path, sizeof path, "/proc/1/ns/%s", kinds[i]);
        int fd = open(path, O_RDONLY);
        TRY(path, setns(fd, 0));
    }
    int pidfd = syscall(SYS_pidfd_open, 1, 0);
    TRY("pidfd-setns", setns(pidfd, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET));
""",
    )
    assert len(lines) == 8


KERNEL_SURFACE = {
    "bpf": (
        "#include <linux/bpf.h>\n#include <string.h>\n#include <sys/syscall.h>\n"
        "#include <unistd.h>",
        """
    struct bpf_insn prog[2] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insn_cnt = 2;
    attr.insns = (unsigned long)prog;
    attr.license = (unsigned long)"GPL";
    TRY("bpf-prog-load", syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
""",
    ),
    "perf_event_open": (
        "#include <linux/perf_event.h>\n#include <string.h>\n"
        "#include <sys/syscall.h>\n#include <unistd.h>",
        """
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.type = PERF_TYPE_HARDWARE;
    pe.config = PERF_COUNT_HW_CPU_CYCLES;
    pe.size = sizeof pe;
    TRY("perf-cycles", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
    pe.type = PERF_TYPE_SOFTWARE;
    pe.config = PERF_COUNT_SW_CPU_CLOCK;
    TRY("perf-clock", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
""",
    ),
    "io_uring": (
        "#include <linux/io_uring.h>\n#include <string.h>\n"
        "#include <sys/syscall.h>\n#include <unistd.h>",
        """
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    TRY("io_uring_setup", syscall(SYS_io_uring_setup, 8, &params));
""",
    ),
    "userfaultfd": (
        "#include <fcntl.h>\n#include <sys/syscall.h>\n#include <unistd.h>",
        """
    TRY("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC));
    TRY("userfaultfd-user-only", syscall(SYS_userfaultfd, O_CLOEXEC | 1));
""",
    ),
}


@pytest.mark.parametrize("name", KERNEL_SURFACE)
async def test_kernel_attack_surface_is_refused(backend, name):
    includes, body = KERNEL_SURFACE[name]
    lines = await run_probe(backend, includes, body)
    assert lines and all(line.startswith("BLOCKED") for line in lines)


async def test_kernel_log_symbols_and_modules_are_out_of_reach(backend):
    lines = await run_probe(
        backend,
        "#include <fcntl.h>\n#include <stdlib.h>\n#include <string.h>\n"
        "#include <sys/syscall.h>\n#include <unistd.h>",
        """
    char buf[256];
    TRY("syslog-read-all", syscall(SYS_syslog, 3, buf, sizeof buf));
    TRY("open-kmsg", open("/dev/kmsg", O_RDONLY));
    int module = open("/work/main.c", O_RDONLY);
    TRY("finit_module", syscall(SYS_finit_module, module, "", 0));
    TRY("init_module", syscall(SYS_init_module, buf, sizeof buf, ""));
    TRY("delete_module", syscall(SYS_delete_module, "ext4", 0));
    FILE *symbols = fopen("/proc/kallsyms", "r");
    int shown = 0;
    for (int i = 0; symbols && i < 1000 && fgets(buf, sizeof buf, symbols); i++)
        shown += strtoull(buf, 0, 16) != 0;
    printf("%s kallsyms-addresses %d\\n", shown ? "ESCAPED" : "BLOCKED", shown);
""",
    )
    assert len(lines) == 6


async def test_the_clock_cannot_be_changed(backend):
    wall, mono = time.time(), time.monotonic()
    lines = await run_probe(
        backend,
        "#include <sched.h>\n#include <string.h>\n#include <sys/time.h>\n"
        "#include <sys/timex.h>\n#include <time.h>",
        """
    struct timespec epoch = {0, 0};
    struct timeval tv = {0, 0};
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_OFFSET;
    tx.offset = 500000;
    TRY("clock_settime", clock_settime(CLOCK_REALTIME, &epoch));
    TRY("settimeofday", settimeofday(&tv, 0));
    TRY("adjtimex", adjtimex(&tx));
    TRY("clock_adjtime", clock_adjtime(CLOCK_REALTIME, &tx));
    TRY("unshare-time", unshare(CLONE_NEWTIME));
""",
    )
    assert len(lines) == 5
    assert abs((time.time() - wall) - (time.monotonic() - mono)) < 0.5


async def test_hostname_cannot_be_changed(backend):
    host = socket.gethostname()
    source = """
import socket
try:
    socket.sethostname("pwned")
    print("ESCAPED sethostname")
except OSError as exc:
    print("BLOCKED sethostname", exc.errno)
print(socket.gethostname())
"""
    first = await execute(backend, "python", source)
    assert "ESCAPED" not in first["run"]["output"]
    assert first["run"]["stdout"].endswith("\nplayground\n")

    after = await execute(
        backend, "python", "import socket; print(socket.gethostname())"
    )
    assert after["run"]["stdout"] == "playground\n"
    assert socket.gethostname() == host
