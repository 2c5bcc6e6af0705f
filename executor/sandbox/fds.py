"""File descriptors: the program gets exactly stdin, stdout and stderr."""

from __future__ import annotations

import fcntl
import os

MAX_FD = 1 << 20


REPORT_FD = 3


def apply(stdin: int, stdout: int, stderr: int, report: int) -> int:
    """Child side: streams on 0, 1, 2, the report pipe on 3 (closed by exec),
    nothing else. Returns the report pipe's new number."""
    # Copy them well above 3 first so that no dup2 clobbers another source.
    moved = [
        fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (stdin, stdout, stderr, report)
    ]
    for target, fd in enumerate(moved):
        os.dup2(fd, target, inheritable=target != REPORT_FD)
    os.closerange(REPORT_FD + 1, MAX_FD)
    return REPORT_FD


def sealed(name: str, data: bytes) -> int:
    """`data` in a memory file that no one can write, grow or shrink again:
    what the launcher and the zygote are given to read or load."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals | fcntl.F_SEAL_WRITE)
    return fd


def close_all_but(keep: set[int]) -> None:
    """Close every descriptor not in `keep`: no host file reaches the sandbox."""
    low = 0
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, MAX_FD)
