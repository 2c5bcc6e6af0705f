"""What a backend yields for a run, in order:

Queued*                                 while it waits for a sandbox
StageStarted, Output*, StageExited      per stage (compile, then run)
Finished                                once, last

or, when the executor has no room for it, Refused then Finished.
"""

from __future__ import annotations

from dataclasses import dataclass

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
