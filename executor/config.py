"""The engine's settings, read once from `PLAYGROUND_*` environment variables.

Every limit has a default and a maximum (`PLAYGROUND_<NAME>` and
`PLAYGROUND_MAX_<NAME>`); a request may lower a limit, or raise it up to the
maximum. A value that does not parse is a ConfigError naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from executor.errors import ConfigError
from executor.limits import KIB, MIB, Limits
from executor.sandbox.namespaces import MAX_HOST_ID, MIN_HOST_ID

# name -> default; the environment variable is PLAYGROUND_<NAME upper-cased>.
LIMIT_DEFAULTS: dict[str, int] = {
    "run_wall_time_ms": 3000,
    "run_cpu_time_ms": 3000,
    # A person typing into a running program needs longer than a batch run.
    "interactive_wall_time_ms": 60000,
    "compile_wall_time_ms": 10000,
    "compile_cpu_time_ms": 10000,
    "memory_bytes": 256 * MIB,
    "processes": 64,
    "open_files": 256,
    "file_size_bytes": 10_000_000,
    "workdir_bytes": 64 * MIB,
    "http_output_bytes": 64 * KIB,
    "page_output_bytes": 1 * MIB,
}

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Sandboxes kept isolated ahead of demand per supervisor (0 turns the pool off).
DEFAULT_POOL_SIZE = 4


@dataclass(frozen=True)
class Config:
    """Defaults and maxima of every limit, and where things live."""

    defaults: Mapping[str, int]
    maxima: Mapping[str, int]
    runtimes_dir: Path
    cgroup_version: str
    cgroup_parent: str | None
    sandbox_uid_base: int
    max_concurrent_runs: int
    max_waiting_runs: int
    pool_size: int = DEFAULT_POOL_SIZE
    zygote: bool = True  # Python's pooled sandboxes forked from a started one

    @property
    def host_id_slots(self) -> int:
        """Sandboxes one supervisor may hold at once, each with two host ids:
        its running stages and its pool, whose sandboxes hold theirs while
        they wait for a run."""
        return self.max_concurrent_runs + self.pool_size

    @staticmethod
    def wall_key(stage: str, interactive: bool) -> str:
        """Which setting holds a stage's wall time limit."""
        if interactive and stage == "run":
            return "interactive_wall_time_ms"
        return f"{stage}_wall_time_ms"

    def stage_limits(
        self, stage: str, output_bytes: int, interactive: bool = False
    ) -> Limits:
        """The default limits of a `compile` or `run` stage."""
        return self._limits(self.defaults, stage, output_bytes, interactive)

    def stage_maxima(
        self, stage: str, output_bytes: int, interactive: bool = False
    ) -> Limits:
        """The most a request may raise a `compile` or `run` stage's limits to."""
        return self._limits(self.maxima, stage, output_bytes, interactive)

    def _limits(
        self, d: Mapping[str, int], stage: str, output_bytes: int, interactive: bool
    ) -> Limits:
        return Limits(
            wall_time_ms=d[self.wall_key(stage, interactive)],
            cpu_time_ms=d[f"{stage}_cpu_time_ms"],
            memory_bytes=d["memory_bytes"],
            processes=d["processes"],
            open_files=d["open_files"],
            file_size_bytes=d["file_size_bytes"],
            workdir_bytes=d["workdir_bytes"],
            output_bytes=output_bytes,
        )


def _int_setting(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ConfigError(f"{key}={raw!r} must be greater than zero")
    return value


def _count_setting(env: Mapping[str, str], key: str, default: int) -> int:
    """A count where zero is meaningful (it turns a feature off)."""
    if env.get(key, "").strip() == "0":
        return 0
    return _int_setting(env, key, default)


def _choice(env: Mapping[str, str], key: str, default: str, allowed: set[str]) -> str:
    value = env.get(key, default) or default
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} must be one of {sorted(allowed)}")
    return value


def _check_uid_range(env: Mapping[str, str]) -> None:
    base = _int_setting(env, "PLAYGROUND_SANDBOX_UID_BASE", 200_000)
    runs = _int_setting(env, "PLAYGROUND_MAX_CONCURRENT_RUNS", 1)
    # Each pooled sandbox holds its host ids while it waits for a run.
    runs += _count_setting(env, "PLAYGROUND_POOL_SIZE", DEFAULT_POOL_SIZE)
    if base < MIN_HOST_ID or base + 2 * runs > MAX_HOST_ID:
        raise ConfigError(
            f"PLAYGROUND_SANDBOX_UID_BASE={base} with "
            f"PLAYGROUND_MAX_CONCURRENT_RUNS plus PLAYGROUND_POOL_SIZE={runs} "
            f"needs host ids {base} to "
            f"{base + 2 * runs - 1}; they must lie within {MIN_HOST_ID}.."
            f"{MAX_HOST_ID} and belong to no real user"
        )


def from_environ(env: Mapping[str, str]) -> Config:
    """Build the configuration from an environment mapping."""
    defaults = {
        name: _int_setting(env, f"PLAYGROUND_{name.upper()}", value)
        for name, value in LIMIT_DEFAULTS.items()
    }
    maxima = {
        name: _int_setting(env, f"PLAYGROUND_MAX_{name.upper()}", defaults[name])
        for name in LIMIT_DEFAULTS
    }
    _check_uid_range(env)
    for name, maximum in maxima.items():
        if maximum < defaults[name]:
            raise ConfigError(
                f"PLAYGROUND_MAX_{name.upper()}={maximum} is below the default "
                f"PLAYGROUND_{name.upper()}={defaults[name]}"
            )
    return Config(
        defaults=defaults,
        maxima=maxima,
        runtimes_dir=Path(env.get("PLAYGROUND_RUNTIMES_DIR", PROJECT_DIR / "runtimes")),
        cgroup_version=_choice(
            env, "PLAYGROUND_CGROUP", "auto", {"auto", "v1", "v2", "none"}
        ),
        cgroup_parent=env.get("PLAYGROUND_CGROUP_PARENT") or None,
        sandbox_uid_base=_int_setting(env, "PLAYGROUND_SANDBOX_UID_BASE", 200_000),
        max_concurrent_runs=_int_setting(
            env, "PLAYGROUND_MAX_CONCURRENT_RUNS", 4 * (os.cpu_count() or 1)
        ),
        max_waiting_runs=_int_setting(
            env, "PLAYGROUND_MAX_WAITING_RUNS", 16 * (os.cpu_count() or 1)
        ),
        pool_size=_count_setting(env, "PLAYGROUND_POOL_SIZE", DEFAULT_POOL_SIZE),
        zygote=_choice(env, "PLAYGROUND_ZYGOTE", "on", {"on", "off"}) == "on",
    )


@lru_cache(maxsize=1)
def get() -> Config:
    """The process-wide configuration, read at first use."""
    return from_environ(os.environ)
