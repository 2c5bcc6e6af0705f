"""The result of a stage: its status in Piston's vocabulary, and in words.

| status | meaning                                          |
|--------|--------------------------------------------------|
| None   | exited 0                                         |
| RE     | exited non-zero                                  |
| SG     | killed by a signal (a stop on request included)  |
| TO     | wall or CPU time limit                           |
| ML     | memory limit (the cgroup's out-of-memory killer) |
| OL/EL  | stdout/stderr cap reached                        |
| CE     | compile stage failed                             |
| XX     | the playground's own failure                     |
"""

from __future__ import annotations

import codecs
import signal as signals
from dataclasses import asdict, dataclass
from typing import Any

from executor.limits import Limits

SIGNAL_MEANINGS: dict[int, str] = {
    signals.SIGSEGV: "invalid memory access",
    signals.SIGBUS: "bad memory access (bus error)",
    signals.SIGFPE: "arithmetic error, such as division by zero",
    signals.SIGILL: "illegal instruction",
    signals.SIGABRT: "the program aborted itself",
    signals.SIGKILL: "killed",
    signals.SIGTERM: "asked to terminate",
    signals.SIGINT: "interrupted",
    signals.SIGHUP: "hang-up",
    signals.SIGPIPE: "wrote to a pipe nobody reads",
    signals.SIGSYS: "a forbidden system call",
    signals.SIGXCPU: "CPU time limit",
    signals.SIGXFSZ: "file size limit",
    signals.SIGTRAP: "trace or breakpoint trap",
    signals.SIGALRM: "alarm clock",
    signals.SIGUSR1: "user signal 1",
    signals.SIGUSR2: "user signal 2",
    signals.SIGQUIT: "quit",
}


def signal_name(signum: int) -> str:
    try:
        return signals.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"


def describe_signal(signum: int) -> str:
    meaning = SIGNAL_MEANINGS.get(signum, "signal")
    return f"Killed by {signal_name(signum)}: {meaning}"


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def human_seconds(ms: int) -> str:
    return f"{ms / 1000:g} s"


@dataclass(frozen=True)
class StageResult:
    """How a stage ended, and what it used."""

    status: str | None
    code: int | None
    signal: str | None
    message: str | None
    cpu_time_ms: int
    wall_time_ms: int
    memory_bytes: int
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    def truncated_streams(self) -> set[str]:
        streams = {"stdout"} if self.stdout_truncated else set()
        return streams | ({"stderr"} if self.stderr_truncated else set())

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> StageResult:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def judge(
    stage: str,
    limits: Limits,
    exit_code: int | None,
    signum: int | None,
    kill_reason: str | None,
    oom_killed: bool,
) -> tuple[str | None, str | None]:
    """Status and message of a stage from how it ended; first cause wins."""
    if kill_reason == "setup":
        return "XX", "The sandbox could not be set up; the program did not start"
    if kill_reason == "lost":
        return "XX", "The executor was lost while the program ran"
    if kill_reason == "stopped":
        return "SG", "Stopped on request"
    if oom_killed:
        return "ML", f"Memory limit of {human_bytes(limits.memory_bytes)} exceeded"
    if kill_reason == "wall":
        return "TO", f"Wall time limit of {human_seconds(limits.wall_time_ms)} exceeded"
    if kill_reason == "cpu" or signum == signals.SIGXCPU:
        return "TO", f"CPU time limit of {human_seconds(limits.cpu_time_ms)} exceeded"
    if kill_reason in ("stdout", "stderr"):
        cap = human_bytes(limits.output_bytes)
        return ("OL" if kill_reason == "stdout" else "EL"), (
            f"Output limit of {cap} reached on {kill_reason}; output cut there"
        )
    return _judge_exit(stage, limits, exit_code, signum)


def _judge_exit(
    stage: str, limits: Limits, exit_code: int | None, signum: int | None
) -> tuple[str | None, str | None]:
    if signum == signals.SIGXFSZ:
        size = human_bytes(limits.file_size_bytes)
        return "SG", f"File size limit of {size} exceeded (SIGXFSZ)"
    if signum is not None:
        return "SG", describe_signal(signum)
    if exit_code:
        if stage == "compile":
            return "CE", f"Compilation failed with exit code {exit_code}"
        return "RE", f"Exited with code {exit_code}"
    return None, None


class OutputCollector:
    """Decodes a stage's output per stream without splitting a character."""

    def __init__(self) -> None:
        self._decoders = {
            name: codecs.getincrementaldecoder("utf-8")(errors="replace")
            for name in ("stdout", "stderr")
        }
        self.parts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.output: list[str] = []

    def feed(self, stream: str, data: bytes, final: bool = False) -> str:
        text = self._decoders[stream].decode(data, final)
        if text:
            self.parts[stream].append(text)
            self.output.append(text)
        return text

    def finish(self, cut: set[str] | frozenset[str] = frozenset()) -> None:
        """Flush what is left; a stream cut at its cap drops a character the
        cut split rather than showing it as U+FFFD."""
        for stream in self._decoders:
            if stream in cut:
                self._decoders[stream].reset()
            else:
                self.feed(stream, b"", final=True)

    def text(self, stream: str) -> str:
        return "".join(self.output if stream == "output" else self.parts[stream])
