"""What a backend yields for a run, in order:

StageStarted, Output*, StageExited      per stage (compile, then run)
Finished                                once, last
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


Event = StageStarted | Output | StageExited | Finished
