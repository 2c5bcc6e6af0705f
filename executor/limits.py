"""Resource limits of one stage, each with its unit in its name."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from executor.errors import LimitError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    """What one stage of a run may use; output is counted per stream."""

    wall_time_ms: int
    cpu_time_ms: int
    memory_bytes: int
    processes: int
    open_files: int
    file_size_bytes: int
    workdir_bytes: int
    output_bytes: int

    def to_wire(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Limits:
        return cls(**{name: int(data[name]) for name in cls.__dataclass_fields__})

    def raised(self, **overrides: int) -> Limits:
        """These limits with some replaced by larger values (runtime needs)."""
        return replace(
            self, **{k: max(v, getattr(self, k)) for k, v in overrides.items()}
        )


def resolve(field: str, requested: object, default: int, maximum: int) -> int:
    """Pick a limit from a request: absent, -1 and 0 mean the default."""
    if requested is None:
        return default
    if isinstance(requested, float) and requested.is_integer():
        requested = int(requested)  # JSON clients may send 3000.0 for 3000
    if isinstance(requested, bool) or not isinstance(requested, int):
        raise LimitError(
            f"{field} must be a whole number, got {requested!r}; "
            f"leave it out to use the default {default}"
        )
    if requested in (-1, 0):
        return default
    if requested < 0:
        raise LimitError(f"{field} must be positive, got {requested}")
    if requested > maximum:
        raise LimitError(
            f"{field} {requested} exceeds the maximum {maximum}; "
            f"ask for {maximum} or less"
        )
    return requested
