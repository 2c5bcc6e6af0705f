"""Handing a run to a pooled sandbox: its spec, files and stdio, over a socket.

    supervisor                                  pooled program child (idle)
      | <------------------------------------ ready {}
      | spec {run_id, stage, argv, env, ...} + SCM_RIGHTS stdin, stdout, stderr
      | file {name, executable, last} + bytes   (one or more per file)
      | end {}
      v                                         writes /work, execs the program

The socket is a stream pair made when the sandbox is created; the init
passes its end to the program child and closes its own copy, and the child
closes it before exec, so nothing of it reaches user code. Every message is
an executor.messages frame.
"""

from __future__ import annotations

import socket
from typing import Any

from executor.errors import SandboxError
from executor.job import File
from executor.limits import Limits
from executor.messages import Decoder, Frame, encode
from executor.sandbox import Spec, Stdio

CHUNK_BYTES = 1 << 20
READ_BYTES = 1 << 20


def _spec_header(spec: Spec) -> dict[str, Any]:
    return {
        "type": "spec",
        "run_id": spec.run_id,
        "stage": spec.stage,
        "argv": spec.argv,
        "env": spec.env,
        "limits": spec.limits.to_wire(),
        "collect_files": spec.collect_files,
        "memory_rlimit": spec.memory_rlimit,
    }


def send(sock: socket.socket, spec: Spec, stdio: Stdio) -> None:
    """Supervisor side: the whole hand-over; blocks until the init has it."""
    fds = [stdio.stdin, stdio.stdout, stdio.stderr]
    socket.send_fds(sock, [encode(_spec_header(spec))], fds)
    for file in spec.files:
        _send_file(sock, file)
    sock.sendall(encode({"type": "end"}))


def _send_file(sock: socket.socket, file: File) -> None:
    view = memoryview(file.content)
    while True:
        chunk, view = view[:CHUNK_BYTES], view[CHUNK_BYTES:]
        header = {"type": "file", "name": file.name,
                  "executable": file.executable, "last": not view}  # fmt: skip
        sock.sendall(encode(header, bytes(chunk)))
        if not view:
            return


def receive(sock: socket.socket) -> tuple[Spec, Stdio]:
    """Program child's side: wait for a run and rebuild its spec (its view
    is already built); the fds are ours now."""
    decoder, fds, frames = Decoder(), [], list[Frame]()
    while not frames or frames[-1].type != "end":
        data, received, _flags, _addr = socket.recv_fds(sock, READ_BYTES, 3)
        if not data:
            raise SandboxError("hand-over", "the supervisor closed the pool socket")
        fds += received
        frames += decoder.feed(data)
    if len(fds) != 3 or frames[0].type != "spec":
        raise SandboxError("hand-over", f"malformed: {len(fds)} fds, {frames[0].type}")
    return _spec(frames), Stdio(*fds)


def _spec(frames: list[Frame]) -> Spec:
    head = frames[0].header
    return Spec(
        head["run_id"],
        head["stage"],
        list(head["argv"]),
        dict(head["env"]),
        Limits.from_wire(head["limits"]),
        _files(frames[1:-1]),
        collect_files=bool(head["collect_files"]),
        memory_rlimit=bool(head["memory_rlimit"]),
    )


def _files(frames: list[Frame]) -> list[File]:
    files, parts = [], []
    for frame in frames:
        parts.append(frame.payload)
        if frame.header["last"]:
            name, executable = frame.header["name"], frame.header["executable"]
            files.append(File(name, b"".join(parts), bool(executable)))
            parts = []
    return files
