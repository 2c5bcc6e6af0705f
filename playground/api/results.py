"""Piston-shaped JSON from the executor's results and events."""

from typing import Any

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
