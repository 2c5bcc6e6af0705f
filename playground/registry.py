"""The installed runtimes, detected once per process."""

from functools import lru_cache

from executor import config
from executor.runtimes import Registry


@lru_cache(maxsize=1)
def registry() -> Registry:
    return Registry.load(config.get().runtimes_dir)
