"""What the sandbox tells the supervisor through its report pipe.

    setup_failed {step, detail}             an isolation step failed
    started {}                              the program is about to start
                                            (the Python init; the feeder of a
                                            pre-started interpreter)
    exited {wait_status, init_cpu_ms,       the program ended; the init's own
            children_cpu_ms,                CPU, and what its reaped children
            children_peak_bytes}            used (when no cgroup measures)
    file {name, executable} + content       a compile stage's output file

Each message is one frame (executor.messages); writes block until read.
"""

from __future__ import annotations

import os
from typing import Any

from executor import messages
from executor.errors import SandboxError


def send(fd: int, header: dict[str, Any], payload: bytes = b"") -> None:
    view = memoryview(messages.encode(header, payload))
    while view:
        view = view[os.write(fd, view) :]


def setup_failed(fd: int, exc: SandboxError) -> None:
    try:
        send(fd, {"type": "setup_failed", "step": exc.step, "detail": exc.detail})
    except OSError:
        pass  # the supervisor is gone; nothing is listening
