"""Handing a run to a sandbox the launcher built: its argv, environment,
files, rlimits and stdio, in one message over the sandbox's socket.

    supervisor                                  program child (launcher)
      | <------------------------------------ "R" (ready: privileges dropped)
      | "PGH1" u32 length + SCM_RIGHTS stdin, stdout, stderr
      | argv, env, files, rlimits (the body below)
      v                                         writes /work, execs the program

All integers are little-endian. A string is a u32 length and its bytes; a
list is a u32 count and its items. A file is its name, a u32 mode and a u64
length followed by its bytes; an rlimit is a u32 resource and two u64
values. launcher/program.c reads exactly this.
"""

from __future__ import annotations

import socket
import struct

from executor.job import File
from executor.sandbox import Spec, Stdio, rlimits

MAGIC = b"PGH1"
READY = b"R"
_U32 = struct.Struct("<I")
_FILE = struct.Struct("<IQ")
_RLIMIT = struct.Struct("<IQQ")


def _string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return _U32.pack(len(data)) + data


def _strings(texts: list[str]) -> list[bytes]:
    return [_U32.pack(len(texts)), *(_string(text) for text in texts)]


def _files(files: list[File]) -> list[bytes]:
    parts = [_U32.pack(len(files))]
    for file in files:
        mode = 0o755 if file.executable else 0o644
        parts += [_string(file.name), _FILE.pack(mode, len(file.content)),
                  file.content]  # fmt: skip
    return parts


def encode(spec: Spec) -> bytes:
    """The whole message but its stdio, which travel beside its first bytes."""
    chosen = rlimits.settings(spec.limits, spec.memory_rlimit)
    body = b"".join(
        [
            *_strings(spec.argv),
            *_strings([f"{name}={value}" for name, value in spec.env.items()]),
            *_files(spec.files),
            _U32.pack(len(chosen)),
            *(_RLIMIT.pack(*one) for one in chosen),
        ]
    )
    return MAGIC + _U32.pack(len(body)) + body


def send(sock: socket.socket, spec: Spec, stdio: Stdio) -> None:
    """Supervisor side: the whole hand-over; blocks until the socket took it."""
    message = encode(spec)
    fds = [stdio.stdin, stdio.stdout, stdio.stderr]
    socket.send_fds(sock, [message[:8]], fds)
    sock.sendall(message[8:])
