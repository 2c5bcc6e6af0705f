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
values. launcher/program.c reads exactly this, and refuses (as a failed
step, before any program) a string with a NUL inside and a file name that is
absolute or has an empty, "." or ".." part.

A pooled sandbox may start its interpreter before its run (launcher/warm.c):

      | <------------------------------------ "R"
      | "PGW1" + stdio: the run's argv and env, no files, no rlimits
      | <------------------------------------ "W" (the interpreter waits)
      | "PGR1", no descriptors: the run, whose argv and env must match
"""

from __future__ import annotations

import socket
import struct

from executor.job import File
from executor.sandbox import Spec, Stdio, rlimits

MAGIC = b"PGH1"
WARM_MAGIC = b"PGW1"
WARM_RUN_MAGIC = b"PGR1"
READY = b"R"
WARMED = b"W"
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


def _encode(
    magic: bytes,
    argv: list[str],
    env: dict[str, str],
    files: list[File],
    chosen: list[tuple[int, int, int]],
) -> bytes:
    body = b"".join(
        [
            *_strings(argv),
            *_strings([f"{name}={value}" for name, value in env.items()]),
            *_files(files),
            _U32.pack(len(chosen)),
            *(_RLIMIT.pack(*one) for one in chosen),
        ]
    )
    return magic + _U32.pack(len(body)) + body


def encode(spec: Spec, magic: bytes = MAGIC) -> bytes:
    """The whole message but its stdio, which travel beside its first bytes."""
    chosen = rlimits.settings(spec.limits, spec.memory_rlimit)
    return _encode(magic, spec.argv, spec.env, spec.files, chosen)


def send(sock: socket.socket, spec: Spec, stdio: Stdio) -> None:
    """Supervisor side: the whole hand-over; blocks until the socket took it."""
    _send_with_stdio(sock, encode(spec), stdio)


def send_warm_up(
    sock: socket.socket, argv: list[str], env: dict[str, str], stdio: Stdio
) -> None:
    """Start a pooled sandbox's interpreter for a run not yet known."""
    _send_with_stdio(sock, _encode(WARM_MAGIC, argv, env, [], []), stdio)


def send_warm_run(sock: socket.socket, spec: Spec) -> None:
    """The run for an interpreter already started: its stdio is already its."""
    sock.sendall(encode(spec, WARM_RUN_MAGIC))


def _send_with_stdio(sock: socket.socket, message: bytes, stdio: Stdio) -> None:
    fds = [stdio.stdin, stdio.stdout, stdio.stderr]
    socket.send_fds(sock, [message[:8]], fds)
    sock.sendall(message[8:])
