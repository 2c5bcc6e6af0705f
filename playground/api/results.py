"""Piston-shaped JSON from the executor's results and events."""

from typing import Any

from executor.backends import RunHandle
from executor.events import Output, Refused, StageExited
from executor.results import OutputCollector, StageResult


def stage_json(result: StageResult, output: OutputCollector) -> dict[str, Any]:
    """A stage as `POST /api/v2/execute` reports it."""
    return {
        "stdout": output.text("stdout"),
        "stderr": output.text("stderr"),
        "output": output.text("output"),
        **exit_fields(result),
    }


def exit_fields(result: StageResult) -> dict[str, Any]:
    """How a stage ended, with Piston's field names and units."""
    return {
        "code": result.code,
        "signal": result.signal,
        "status": result.status,
        "message": result.message,
        "cpu_time": result.cpu_time_ms,
        "wall_time": result.wall_time_ms,
        "memory": result.memory_bytes,
    }


class RunRefused(Exception):
    """The run could not be done: the executor had no room for it, or the
    server shut down while it ran; the message says which."""


async def collect(
    run: RunHandle, stages: dict[str, Any], results: dict[str, StageResult]
) -> None:
    """Follow a run to its end, filling in each stage as execute reports it
    and its result; what arrived stays filled in if this is cancelled."""
    output = OutputCollector()
    async for event in run.events():
        if isinstance(event, Refused):
            raise RunRefused(event.reason)
        if isinstance(event, Output):
            output.feed(event.stream, event.data)
        elif isinstance(event, StageExited):
            output.finish(event.result.truncated_streams())
            stages[event.stage] = stage_json(event.result, output)
            results[event.stage] = event.result
            output = OutputCollector()
