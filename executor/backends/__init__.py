"""Where runs execute: the local supervisor (embedded default)."""

from __future__ import annotations

from functools import lru_cache

from executor import config
from executor.backends.base import Backend, RunHandle
from executor.backends.local import LocalBackend

__all__ = ["Backend", "RunHandle", "get_backend"]


@lru_cache(maxsize=1)
def get_backend() -> Backend:
    """The process-wide backend, chosen from the configuration."""
    return LocalBackend(config.get())
