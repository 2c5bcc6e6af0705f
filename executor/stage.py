"""One stage in flight, seen from the supervisor: its sandbox, its pipes,
its limits, and the result it ends with.

    supervisor holds            program holds
    stdin pipe (w) or pty       stdin pipe (r) or pty slave
    stdout pipe (r) or pty      stdout pipe (w) or pty slave
    stderr pipe (r)             stderr pipe (w)
    report pipe (r)             (the init writes it)

A stage ends when the supervisor's child that holds its sandbox exits;
output still in the pipes is then drained for a short while, and the cgroup
is read and removed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import termios
import time
from dataclasses import dataclass, field

from executor.errors import SandboxError
from executor.job import File, Stage
from executor.messages import Decoder
from executor.results import StageResult, judge
from executor.sandbox import Spec, Stdio, cgroups, handover, launch, namespaces, step
from executor.sandbox.launch import Launched

log = logging.getLogger(__name__)

DRAIN_SECONDS = 0.25
PIPE_BYTES = 256 * 1024
# Processes a sandbox itself adds to its stage's pids count: the launcher's
# init (its helper is gone before the run), or a forked helper and init.
LAUNCHED_PROCESSES = 1
FORKED_PROCESSES = 2


def _open_pty() -> tuple[int, int]:
    """A terminal that passes bytes through: no echo, no CR/LF translation,
    no signal, flow-control or editing characters; lines end at newline or
    ^D, and ^V makes the next byte literal (executor.stdin relies on it)."""
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.ISTRIP
                  | termios.IXON | termios.IXOFF)  # fmt: skip
    attrs[1] &= ~termios.OPOST
    attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ISIG)
    attrs[3] |= termios.ICANON | termios.IEXTEN
    for name in ("VERASE", "VKILL", "VWERASE", "VREPRINT", "VDISCARD", "VEOL",
                 "VEOL2"):  # fmt: skip
        attrs[6][getattr(termios, name)] = b"\0"  # "\0" disables the character
    attrs[6][termios.VLNEXT] = b"\x16"
    attrs[6][termios.VEOF] = b"\x04"
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave


def _widen(pipe: int) -> None:
    """A bigger pipe for stdout: a program writing fast wakes the supervisor
    (and every hop after it) once per 256 KiB rather than per 64 KiB."""
    try:
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # over this user's pipe quota: the default size still works


@dataclass
class Streams:
    """The supervisor's ends of a stage's stdio."""

    stdin: int | None
    outputs: dict[int, str]
    child: Stdio | None  # the program's ends, until they are its alone
    terminal: bool

    @classmethod
    def create(cls, terminal: bool, stdout_terminal: bool) -> Streams:
        """Pipes, or a pty for stdin (and for stdout unless the runtime
        declares that its stdout must stay a pipe)."""
        stderr_r, stderr_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        _widen(out_r)
        outputs = {out_r: "stdout", stderr_r: "stderr"}
        if terminal:
            stdin, slave = _open_pty()
            os.set_inheritable(stdin, False)
            child = Stdio(slave, out_w, stderr_w)
            if stdout_terminal:
                os.close(out_r)
                os.close(out_w)
                outputs = {stdin: "stdout", stderr_r: "stderr"}
                child = Stdio(slave, slave, stderr_w)
        else:
            in_r, stdin = os.pipe2(os.O_CLOEXEC)
            child = Stdio(in_r, out_w, stderr_w)
        for fd in (stdin, *outputs):
            os.set_blocking(fd, False)
        return cls(stdin, outputs, child, terminal)

    def ends(self) -> Stdio:
        """The program's ends, while they are still ours to give."""
        if self.child is None:
            raise SandboxError("stdio", "the program's ends were given already")
        return self.child

    def close_child(self) -> None:
        """Close the program's ends: it holds its own copies now."""
        if self.child is not None:
            for fd in self.child.all():
                os.close(fd)
            self.child = None

    def close(self) -> None:
        """Close every end: a pooled sandbox's, which will run nothing."""
        self.close_child()
        if self.stdin is not None and self.stdin not in self.outputs:
            os.close(self.stdin)  # a terminal's is also its stdout, closed below
        for fd in self.outputs:
            os.close(fd)
        self.outputs, self.stdin = {}, None


@dataclass
class StageProcess:
    """A stage from launch to result; the supervisor drives it."""

    run_id: str
    stage: Stage
    streams: Streams
    cgroup: cgroups.Cgroup
    launched: Launched | None = None
    started: float = 0.0
    ended: float | None = None
    kill_reason: str | None = None
    setup_error: SandboxError | None = None
    wait_status: int | None = None
    init_cpu_ms: int = 0
    written: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})
    files: list[File] = field(default_factory=list)
    report: Decoder = field(default_factory=Decoder)
    init_pidfd: int | None = None
    sandbox_gone: bool = False
    children_cpu_ms: int = 0
    children_peak_bytes: int = 0
    report_open: bool = True
    ending: bool = False
    host_index: int = -1
    cpu_base_ms: int = 0  # what the cgroup had used before the stage began
    awaits_program: bool = False  # a pre-started interpreter, until "started"

    def start(self, spec: Spec, host_id: int, root: str) -> None:
        """A forked sandbox, made for this (compile) stage alone."""
        try:
            child = self.streams.ends()
            give_stdio(child, host_id)
            self.launched = launch.launch(
                spec, child, self.cgroup.join_paths(), host_id, root
            )
            self.init_pidfd = _pidfd(self.launched.init_pid)
        except SandboxError as exc:
            self.setup_error = exc
        finally:
            self._close_child_ends()

    def start_launched(
        self, spec: Spec, launched: Launched, sock: socket.socket, host_id: int
    ) -> None:
        """Hand this stage to a launcher's sandbox, already isolated, whose
        program child waits for it; or whose interpreter, started with this
        stage's streams, waits for its program."""
        self.launched = launched
        child = self.streams.child
        try:
            self.init_pidfd = os.pidfd_open(launched.init_pid)
            self.cpu_base_ms = self.cgroup.cpu_time_ms()
            if child is None:
                self.awaits_program = True  # until its feeder says "started"
                step("hand-over", handover.send_warm_run, sock, spec)
            else:
                give_stdio(child, host_id)
                step("hand-over", handover.send, sock, spec, child)
        except (SandboxError, OSError) as exc:
            self.setup_error = _as_setup_error(exc)
            self.kill("setup")
        finally:
            sock.close()
            self._close_child_ends()

    def _close_child_ends(self) -> None:
        self.streams.close_child()
        self.started = time.monotonic()

    def wall_ms(self) -> int:
        end = self.ended if self.ended is not None else time.monotonic()
        return int((end - self.started) * 1000)

    def kill(self, reason: str) -> None:
        """End the stage now; the first reason given is the one reported."""
        if self.kill_reason is None:
            self.kill_reason = reason
            log.info(
                "run_id=%s stage=%s killed: %s", self.run_id, self.stage.name, reason
            )
        if self.init_pidfd is not None:
            try:
                signal.pidfd_send_signal(self.init_pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.cgroup.kill()

    def send_signal(self, signum: int) -> None:
        if self.init_pidfd is not None and self.ended is None:
            try:
                signal.pidfd_send_signal(self.init_pidfd, signum)
            except ProcessLookupError:
                pass

    def accept_output(self, stream: str, data: bytes) -> bytes:
        """The part of `data` within the stream's cap; past it, kill."""
        room = self.stage.limits.output_bytes - self.written[stream]
        kept = data[: max(room, 0)]
        self.written[stream] += len(kept)
        if len(data) > len(kept):
            self.kill(stream)
        return kept

    def on_report(self, data: bytes) -> None:
        for frame in self.report.feed(data):
            header = frame.header
            if header["type"] == "started":
                self.started = time.monotonic()  # wall time counts from here
                self.awaits_program = False
            elif header["type"] == "exited":
                self._ended_awaiting_program()
                self.wait_status = int(header["wait_status"])
                self.init_cpu_ms = int(header["init_cpu_ms"])
                self.children_cpu_ms = int(header["children_cpu_ms"])
                self.children_peak_bytes = int(header["children_peak_bytes"])
                self.ended = time.monotonic()
            elif header["type"] == "file":
                self.files.append(
                    File(header["name"], frame.payload, bool(header["executable"]))
                )
            elif header["type"] == "setup_failed":
                self.setup_error = SandboxError(header["step"], header["detail"])

    def _ended_awaiting_program(self) -> None:
        """A pre-started interpreter that ended before its program was on its
        way (it died while it waited for a run): its end is no result of the
        run, whose program never started."""
        if self.awaits_program and not self.setup_error and not self.kill_reason:
            self.setup_error = SandboxError(
                "warm", "the interpreter ended before its program reached it"
            )

    def log(self, result: StageResult) -> None:
        """One line per stage; our own failures as errors naming the step."""
        if self.setup_error is not None:
            log.error(
                "run_id=%s sandbox step %r failed: %s",
                self.run_id,
                self.setup_error.step,
                self.setup_error.detail,
            )
        log.info("run_id=%s stage=%s status=%s code=%s signal=%s wall_ms=%d "
                 "cpu_ms=%d memory=%d", self.run_id, self.stage.name, result.status,
                 result.code, result.signal, result.wall_time_ms,
                 result.cpu_time_ms, result.memory_bytes)  # fmt: skip

    def cpu_ms(self) -> int:
        if not self.cgroup.accounts:
            return self.children_cpu_ms
        used = self.cgroup.cpu_time_ms() - self.cpu_base_ms
        return max(used - self.init_cpu_ms, 0)

    def memory_bytes(self) -> int:
        if not self.cgroup.accounts:
            return self.children_peak_bytes
        return self.cgroup.memory_peak_bytes()

    def result(self) -> StageResult:
        """Judge the stage; call once, after its sandbox has exited."""
        if self.ended is None:
            self.ended = time.monotonic()
        cpu_ms, oom_killed = self.cpu_ms(), self.cgroup.oom_killed()
        if cpu_ms > self.stage.limits.cpu_time_ms and self.kill_reason is None:
            self.kill_reason = "cpu"
        code, signum = _decode(self.wait_status)
        reason = self.kill_reason
        if self.setup_error is not None:
            reason = "setup"
        elif self.wait_status is None and reason is None:
            # The out-of-memory killer may take the init with the program.
            reason = None if oom_killed else "lost"
            signum = signal.SIGKILL if reason is None else None
        elif self.wait_status is None:
            signum = signal.SIGKILL  # we ended it before the program ended
        status, message = judge(
            self.stage.name, self.stage.limits, code, signum, reason, oom_killed
        )
        return StageResult(
            status=status,
            code=code,
            signal=_signal_name(signum),
            message=message,
            cpu_time_ms=cpu_ms,
            wall_time_ms=self.wall_ms(),
            memory_bytes=self.memory_bytes(),
            stdout_truncated=self.kill_reason == "stdout",
            stderr_truncated=self.kill_reason == "stderr",
        )


def give_stdio(stdio: Stdio, host_id: int) -> None:
    """Give the program's pipes and terminal to the program's own host id, as
    a login gives a user their terminal: a program can then reopen them as
    /dev/stdin or /dev/stdout (COBOL, Fortran and sqlite3 read by file name).
    Nothing else of the host becomes the program's."""
    if not namespaces.privileged():
        return  # the program already is the user that made them
    program = namespaces.program_host_id(host_id)
    for fd in stdio.all():
        try:
            os.fchown(fd, program, program)
        except OSError as exc:
            raise SandboxError("stdio owner", f"fchown: {exc}") from exc


def _pidfd(pid: int) -> int | None:
    """A descriptor for the init; None if a failed step has already ended it
    (its report says which)."""
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def _as_setup_error(exc: Exception) -> SandboxError:
    if isinstance(exc, SandboxError):
        return exc
    return SandboxError("hand-over", f"{type(exc).__name__}: {exc}")


def _decode(wait_status: int | None) -> tuple[int | None, int | None]:
    if wait_status is None:
        return None, None
    if os.WIFSIGNALED(wait_status):
        return None, os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status), None


def _signal_name(signum: int | None) -> str | None:
    return None if signum is None else signal.Signals(signum).name
