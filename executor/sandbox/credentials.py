"""The program's identity: an unprivileged uid, no capabilities, no_new_privs
and a parent-death signal.

Inside the user namespace the child has every capability until this step;
afterwards it is uid/gid 1000 with empty capability sets (bounding set
included), and no_new_privs makes setuid binaries and file capabilities inert.
"""

from __future__ import annotations

import os
import signal

import prctl

from executor.sandbox.namespaces import SANDBOX_GID, SANDBOX_UID


def apply() -> None:
    """Child side: drop to the sandbox user and shed every capability."""
    prctl.capbset.limit()
    os.setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID)
    os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    prctl.cap_inheritable.limit()
    prctl.cap_effective.limit()
    prctl.cap_permitted.limit()
    prctl.set_no_new_privs(True)
    # Survives exec: if the init dies, so does the program, at once.
    prctl.set_pdeathsig(signal.SIGKILL)
