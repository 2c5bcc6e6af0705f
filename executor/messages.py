"""Messages between a backend and its supervisor, and how they are framed.

    backend -> supervisor   start, stdin, close_stdin, signal, stop
    supervisor -> backend   ready or unavailable (once, first), then per run:
                            queued*, stage, output, exit, finished
                            (or refused, finished when no room is left)

A frame is two big-endian u32 lengths, a JSON header and a binary payload;
only `stdin` and `output` carry a payload (the bytes themselves).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

HEAD = struct.Struct(">II")
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


class Start(TypedDict):
    type: Literal["start"]
    job: dict[str, Any]


class RunCommand(TypedDict):
    """stdin (with payload), close_stdin, stop: aimed at one run."""

    type: Literal["stdin", "close_stdin", "stop"]
    run_id: str


class SignalCommand(TypedDict):
    type: Literal["signal"]
    run_id: str
    signal: int


class StageEvent(TypedDict):
    type: Literal["stage"]
    run_id: str
    stage: str


class OutputEvent(TypedDict):
    """Carries the bytes as its payload."""

    type: Literal["output"]
    run_id: str
    stream: str  # "stdout" or "stderr"


class ExitEvent(TypedDict):
    type: Literal["exit"]
    run_id: str
    stage: str
    result: dict[str, Any]


class QueuedEvent(TypedDict):
    type: Literal["queued"]
    run_id: str
    position: int


class RefusedEvent(TypedDict):
    type: Literal["refused"]
    run_id: str
    reason: str


class FinishedEvent(TypedDict):
    type: Literal["finished"]
    run_id: str


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    payload: bytes = b""

    @property
    def type(self) -> str:
        return str(self.header["type"])


def encode(header: Any, payload: bytes = b"") -> bytes:
    body = json.dumps(header, separators=(",", ":")).encode()
    return HEAD.pack(len(body), len(payload)) + body + payload


class FrameError(ValueError):
    """A frame that cannot be decoded: the peer is broken."""


class Decoder:
    """Splits a byte stream into frames; feed it whatever arrives."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Frame]:
        self._buffer += data
        while len(self._buffer) >= HEAD.size:
            header_len, payload_len = HEAD.unpack_from(self._buffer)
            if header_len > MAX_HEADER_BYTES or payload_len > MAX_PAYLOAD_BYTES:
                raise FrameError(f"frame too large: {header_len}+{payload_len}")
            end = HEAD.size + header_len + payload_len
            if len(self._buffer) < end:
                return
            header = json.loads(self._buffer[HEAD.size : HEAD.size + header_len])
            payload = bytes(self._buffer[HEAD.size + header_len : end])
            del self._buffer[:end]
            yield Frame(header, payload)
