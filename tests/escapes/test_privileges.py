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
    source = """
import os, signal
for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
    try:
        os.kill(1, sig)
        print("sent", sig.name)
    except OSError as exc:
        print("BLOCKED", sig.name, exc.errno)
print("still running")
"""
    result = await execute(backend, "python", source)
    assert "BLOCKED SIGKILL" in result["run"]["stdout"]
    assert result["run"]["stdout"].endswith("still running\n")


async def test_setuid_binaries_gain_nothing(backend):
    result = await execute(
        backend, "bash", "su -c id root 2>&1; mount 2>&1 | head -1; id -u"
    )
    assert result["run"]["stdout"].strip().endswith("1000")
    assert "uid=0" not in result["run"]["stdout"]
