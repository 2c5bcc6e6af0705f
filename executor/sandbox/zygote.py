"""The zygote: one Python interpreter, started as a sandbox's would be, that
forks the pool's sandboxes for runs of that interpreter (launcher/zygote.c).

    supervisor --posix_spawn--> launcher zygote: its own mount namespace
      (mounts.zygote_plan) --exec--> INTERPRETER -c BOOT, which loads the
      extension from a sealed memory file and serves one request at a time:
    supervisor --SOCK_SEQPACKET: a launcher's argv and its five descriptors
      --> zygote: clone(CLONE_PARENT), the helper (the supervisor's child, as
      a spawned launcher is) --> init --> program child: the interpreter,
      already started, which takes its warm-up and run (pool.Warm) and runs
      the program as `INTERPRETER ./NAME` would
    zygote --8 bytes: the helper's pid, or minus an errno--> supervisor

Every sandbox still takes every isolation step; the start-up of the
interpreter is what a run no longer pays. What a program can tell of this
is in docs/runtimes.md. If the zygote cannot start or ends, the pool says
why and makes its sandboxes with the launcher alone, as for any runtime.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
from pathlib import Path

from executor.errors import SandboxError
from executor.sandbox import fds, launch, mounts

# The interpreter the extension is built for (scripts/launcher.sh).
INTERPRETER = "/usr/bin/python3"
EXTENSION = Path(__file__).with_name("launcher") / "playground-zygote.so"
LIBRARY_FD, SOCKET_FD = 4, 5
# One expression: it binds no name in __main__, which a program inherits.
BOOT = (
    '__import__("_frozen_importlib")._load(__import__("_frozen_importlib")'
    '.spec_from_loader("_playground_zygote", __import__("_frozen_importlib_external")'
    f'.ExtensionFileLoader("_playground_zygote", "/proc/self/fd/{LIBRARY_FD}")))'
    f".serve({SOCKET_FD}, {LIBRARY_FD}, ARGV)"
)
READY = b"Z"
# How long the supervisor's loop may wait for it (it answers a request in
# well under a millisecond): past that, it is dropped for a while.
START_SECONDS = 5.0
ANSWER_SECONDS = 1.0
_ANSWER = struct.Struct("<q")


def usable(argv0: str) -> bool:
    """Whether a zygote can serve runs of this interpreter. Only root makes
    the mount namespace it starts in.
    Known gap: an executor without root has no zygote; its Python runs take
    the FIFO way (about twice the CPU of a run from the zygote)."""
    return argv0 == INTERPRETER and os.geteuid() == 0 and EXTENSION.exists()


def fingerprint(readonly_paths: list[str]) -> tuple[tuple[int, int] | None, ...]:
    """The files of the host that a zygote keeps as they were when it started:
    its interpreter, and each /etc path of its view (a bind mount holds the
    file it bound). One replaced since (a package upgraded, ldconfig renaming
    a new /etc/ld.so.cache over the old) asks for a new zygote: views made
    from the old one would fail to bind it, or hold the old file."""
    found: list[tuple[int, int] | None] = []
    for path in (INTERPRETER, *mounts.zygote_etc(readonly_paths)):
        try:
            info = os.stat(path)
        except OSError:
            found.append(None)
        else:
            found.append((info.st_dev, info.st_ino))
    return tuple(found)


class Zygote:
    """A started zygote, the supervisor's child."""

    def __init__(self, pid: int, sock: socket.socket, diagnostics: int) -> None:
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.sock = sock
        self.diagnostics_fd = diagnostics  # its stdout and stderr
        self.reaped = False

    @classmethod
    def start(
        cls, argv: list[str], env: dict[str, str], root: str, readonly_paths: list[str]
    ) -> Zygote:
        """Start one for runs of `argv` with `env`; waits until it serves.
        Raises SandboxError naming the step that failed."""
        plan = mounts.flat(mounts.zygote_plan(root, readonly_paths))
        boot = BOOT.replace("ARGV", repr(argv))
        argv = [str(launch.LAUNCHER), "zygote", *plan, "--",
                INTERPRETER, "-c", boot]  # fmt: skip
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        diagnostics_r, diagnostics_w = os.pipe2(os.O_CLOEXEC)
        empty_r, empty_w = os.pipe2(os.O_CLOEXEC)
        os.close(empty_w)
        library = _library()
        given = [empty_r, diagnostics_w, diagnostics_w, report_w, library,
                 theirs.fileno()]  # fmt: skip
        try:
            pid = _spawn(argv, env, given)
        finally:
            for fd in (empty_r, diagnostics_w, report_w, library):
                os.close(fd)
            theirs.close()
        zygote = cls(pid, ours, diagnostics_r)
        try:
            zygote._wait_until_serving(report_r)
        except SandboxError:
            zygote.close()
            raise
        finally:
            os.close(report_r)
        return zygote

    def _wait_until_serving(self, report_r: int) -> None:
        """The launcher's steps, then the interpreter's start-up."""
        said = b""
        while chunk := os.read(report_r, 65536):  # until exec closes it
            said += chunk
        if said:
            raise launch.failure_in(said, "zygote")
        self.sock.settimeout(START_SECONDS)
        try:
            said = self.sock.recv(1)
        except OSError:
            said = b""
        if said != READY:
            raise self.ended("it ended as it started")

    def spawn(self, argv: list[str], given: list[int]) -> int:
        """A helper with this argv and `given` on descriptors 3 to 7, as a
        spawned launcher would have; returns its pid."""
        count = struct.pack("<I", len(argv))
        strings = b"".join(arg.encode() + b"\0" for arg in argv)
        self.sock.settimeout(ANSWER_SECONDS)
        try:
            socket.send_fds(self.sock, [count, strings], given)
            answer = self.sock.recv(_ANSWER.size)
        except OSError as exc:
            raise self.ended(f"{type(exc).__name__}: {exc}") from exc
        if len(answer) != _ANSWER.size:
            raise self.ended("it ended")
        (pid,) = _ANSWER.unpack(answer)
        if pid < 0:
            raise SandboxError("zygote", f"clone: {os.strerror(-pid)}")
        return int(pid)

    def ended(self, what: str) -> SandboxError:
        """The error for a zygote gone, with the last line it wrote."""
        os.set_blocking(self.diagnostics_fd, False)
        try:
            said = os.read(self.diagnostics_fd, 4096).decode(errors="replace")
        except OSError:
            said = ""
        last = said.strip().splitlines()[-1:] or ["nothing on stderr"]
        return SandboxError("zygote", f"{what} ({last[0]})")

    def reap(self) -> None:
        """It has exited (its pidfd is readable): collect it."""
        if not self.reaped:
            os.waitpid(self.pid, 0)
            self.reaped = True

    def close(self) -> None:
        """End it; its helpers are the supervisor's and go on."""
        self.sock.close()
        if not self.reaped:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.reap()
        os.close(self.pidfd)
        os.close(self.diagnostics_fd)


def _library() -> int:
    """The extension in a sealed memory file: a program's /proc/self/maps
    names that, not where the playground is installed."""
    try:
        data = EXTENSION.read_bytes()
    except OSError as exc:
        raise SandboxError("zygote", f"{EXTENSION}: {exc.strerror}") from exc
    return fds.sealed("playground-zygote", data)


def _spawn(argv: list[str], env: dict[str, str], given: list[int]) -> int:
    """posix_spawn the launcher with `given` on descriptors 0 to 5."""
    try:
        return launch.spawn_with(argv, env, given, 0)
    except OSError as exc:
        raise SandboxError("zygote", f"{argv[0]}: {exc.strerror}") from exc
