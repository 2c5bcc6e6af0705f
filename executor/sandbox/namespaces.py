"""User, pid, mount, network, ipc, uts and cgroup namespaces.

The child unshares them all at once; the parent, still privileged in the
host's user namespace, then maps two unprivileged host ids into it: one for
the sandbox's init (uid 0 inside, with capabilities only over the sandbox's
own namespaces) and another for the program (uid 1000 inside, no
capabilities). Distinct host ids keep the program from signalling its init.

Run by an ordinary user, the parent may map only its own ids, so the init and
the program share uid 1000 inside; the init is then protected by being pid 1
(it ignores signals it has no handler for) and non-dumpable.
"""

from __future__ import annotations

import os

from executor.errors import SandboxError
from executor.sandbox import libc

SANDBOX_UID = 1000
SANDBOX_GID = 1000

ALL = (
    libc.CLONE_NEWUSER
    | libc.CLONE_NEWPID
    | libc.CLONE_NEWNS
    | libc.CLONE_NEWNET
    | libc.CLONE_NEWIPC
    | libc.CLONE_NEWUTS
    | libc.CLONE_NEWCGROUP
)


def apply() -> None:
    """Child side: leave every host namespace; the next fork is pid 1."""
    libc.unshare(ALL)


# Host ids below this belong to system and ordinary users; 2**32 - 1 is "no id".
MIN_HOST_ID = 65536
MAX_HOST_ID = 2**32 - 2


def privileged() -> bool:
    return os.geteuid() == 0


def program_host_id(host_id: int) -> int:
    """The host uid and gid that the program's uid 1000 maps to."""
    if not privileged():
        return os.geteuid()
    _check_host_id(host_id)
    return host_id + 1


def _check_host_id(host_id: int) -> None:
    # The kernel reads larger numbers modulo 2**32, which could map the
    # sandbox onto a real user of the host: refuse them here.
    if not MIN_HOST_ID <= host_id < MAX_HOST_ID:
        raise SandboxError(
            "uid map", f"host id {host_id} is outside {MIN_HOST_ID}..{MAX_HOST_ID}"
        )


def map_ids(pid: int, host_id: int) -> None:
    """Parent side: inside 0 is `host_id` and inside 1000 is `host_id + 1`;
    for an ordinary user, inside 1000 is that user."""
    if not privileged():
        _write_maps(pid, f"{SANDBOX_UID} {os.geteuid()} 1\n",
                    f"{SANDBOX_GID} {os.getegid()} 1\n")  # fmt: skip
        return
    _check_host_id(host_id)
    mapping = f"0 {host_id} 1\n{SANDBOX_UID} {program_host_id(host_id)} 1\n"
    _write_maps(pid, mapping, mapping)


def _write_maps(pid: int, uids: str, gids: str) -> None:
    # setgroups must be denied before an unprivileged gid map is accepted.
    for name, text in (("uid_map", uids), ("setgroups", "deny\n"), ("gid_map", gids)):
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def become_init_user() -> None:
    """Child side: the init takes uid/gid 0 of the sandbox where the map has
    one (a host id of its own); an ordinary user's init stays uid 1000."""
    with open("/proc/self/uid_map") as f:
        inside_ids = {int(line.split()[0]) for line in f if line.strip()}
    if 0 in inside_ids:
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
