"""What a backend yields for a run, in order:

Queued*                                 while it waits for a sandbox
StageStarted, Output*, StageExited      per stage (compile, then run)
Finished                                once, last

or, when the executor has no room for it, Refused then Finished.

On the wire (the supervisor's frames, the Redis streams of a distributed
run) an event is a JSON header and, for output, its bytes: `from_wire` and
`to_wire` are the one translation both use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from executor.results import StageResult


@dataclass(frozen=True)
class StageStarted:
    stage: str


@dataclass(frozen=True)
class Output:
    stream: str
    data: bytes


@dataclass(frozen=True)
class StageExited:
    stage: str
    result: StageResult


@dataclass(frozen=True)
class Finished:
    pass


@dataclass(frozen=True)
class Queued:
    position: int  # runs ahead of this one


@dataclass(frozen=True)
class Refused:
    reason: str


Event = StageStarted | Output | StageExited | Finished | Queued | Refused


def from_wire(header: dict[str, Any], payload: bytes) -> Event:
    """The event a frame's header (and payload) describes."""
    kind = header["type"]
    if kind == "stage":
        return StageStarted(str(header["stage"]))
    if kind == "output":
        return Output(str(header["stream"]), payload)
    if kind == "exit":
        return StageExited(
            str(header["stage"]), StageResult.from_wire(header["result"])
        )
    if kind == "queued":
        return Queued(int(header["position"]))
    if kind == "refused":
        return Refused(str(header["reason"]))
    return Finished()


def to_wire(event: Event) -> tuple[dict[str, Any], bytes]:
    """The header and payload that describe an event."""
    if isinstance(event, StageStarted):
        return {"type": "stage", "stage": event.stage}, b""
    if isinstance(event, Output):
        return {"type": "output", "stream": event.stream}, event.data
    if isinstance(event, StageExited):
        return {"type": "exit", "stage": event.stage,
                "result": event.result.to_wire()}, b""  # fmt: skip
    if isinstance(event, Queued):
        return {"type": "queued", "position": event.position}, b""
    if isinstance(event, Refused):
        return {"type": "refused", "reason": event.reason}, b""
    return {"type": "finished"}, b""
