"""The program is an unprivileged user with no capabilities, and the
operations that would change its view are refused."""

import pytest

from tests.conftest import execute

pytestmark = pytest.mark.usefixtures("host_is_clean")


async def test_runs_as_unprivileged_user_without_capabilities(backend):
    result = await execute(
        backend,
        "bash",
        "id -u; grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)' /proc/self/status",
    )
    lines = result["run"]["stdout"].splitlines()
    assert lines[0] == "1000"
    fields = dict(line.split(":\t") for line in lines[1:])
    assert all(
        fields[f"Cap{s}"] == "0000000000000000"
        for s in ("Inh", "Prm", "Eff", "Bnd", "Amb")
    )
    assert fields["NoNewPrivs"] == "1"


async def test_mount_is_refused(backend):
    source = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0:
    print("ESCAPED mount")
else:
    print("BLOCKED", ctypes.get_errno())
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"].startswith("BLOCKED")


async def test_ptrace_of_the_init_is_refused(backend):
    source = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
if libc.ptrace(PTRACE_ATTACH, 1, None, None) == 0:
    print("ESCAPED ptrace")
else:
    print("BLOCKED", ctypes.get_errno())
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"].startswith("BLOCKED")


async def test_the_init_cannot_be_signalled(backend):
    # As root the init is another host id (EPERM); as an ordinary user the
    # send succeeds but pid 1 ignores it. Either way nothing may happen.
    source = """
import os, signal, time
for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGSTOP):
    try:
        os.kill(1, sig)
    except OSError:
        pass
time.sleep(0.3)
print("still running")
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "still running\n"
    assert result["run"]["status"] is None


async def test_setuid_binaries_gain_nothing(backend):
    result = await execute(
        backend, "bash", "su -c id root 2>&1; mount 2>&1 | head -1; id -u"
    )
    assert result["run"]["stdout"].strip().endswith("1000")
    assert "uid=0" not in result["run"]["stdout"]


async def test_the_program_dies_with_its_init(backend):
    source = """
import ctypes, signal
libc = ctypes.CDLL(None, use_errno=True)
value = ctypes.c_int(0)
libc.prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
print(signal.Signals(value.value).name if value.value else "none")
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "SIGKILL\n"
