"""Where runs execute: the local supervisor (embedded default), or Celery
workers when PLAYGROUND_REDIS_URL is set."""

from __future__ import annotations

import importlib
import os
from functools import lru_cache

from executor import config, relay
from executor.backends.base import Backend, RunHandle
from executor.backends.local import LocalBackend

__all__ = ["Backend", "RunHandle", "get_backend"]


@lru_cache(maxsize=1)
def get_backend() -> Backend:
    """The process-wide backend, chosen from the configuration."""
    settings = relay.settings_from(os.environ)
    if settings is None:
        return LocalBackend(config.get())
    from executor.backends.celery import CeleryBackend

    # The Celery app lives with the site (playground/celery.py); the engine
    # only needs its way of publishing a job.
    site = importlib.import_module("playground.celery")
    return CeleryBackend(settings, site.publisher(settings))
