"""What a worker accepts from the queue: a job is checked, not trusted.

Anyone who can write to Redis can publish a job, so a worker holds each one
against its own runtimes and maxima before its supervisor sees it: the run
id names cgroups and keys, the read-only paths are bind-mounted from the
host, and the limits bound what the host gives the run.

Known gap: argv, env, files, stdin and whether the interpreter may start
before the run are not compared with what the web would have built; they
only act inside the sandbox, like the user's code.
"""

from __future__ import annotations

import re

from executor.config import Config
from executor.errors import JobError
from executor.job import Job
from executor.limits import Limits
from executor.runtimes import Registry, Runtime

RUN_ID = re.compile(r"[0-9a-f]{12}")  # what job.new_run_id makes


def admit(job: Job, registry: Registry, config: Config) -> None:
    """Raise JobError, saying what is wrong, unless this worker may run `job`."""
    if not RUN_ID.fullmatch(job.run_id):
        raise JobError(f"run id {job.run_id[:40]!r} is not one the site makes")

    runtime = _runtime(job, registry)

    if list(job.readonly_paths) != list(runtime.readonly_paths):
        raise JobError(
            f"the job asks for host paths {job.readonly_paths[:8]!r}; "
            f"{runtime.language} reads only {runtime.readonly_paths!r}"
        )

    expected = ["compile", "run"] if runtime.compile else ["run"]
    if [stage.name for stage in job.stages] != expected:
        raise JobError(f"{runtime.language} runs the stages {expected}")

    for stage in job.stages:
        top = ceiling(stage.name, job, runtime, config)
        _check_limits(stage.name, stage.limits, top)


def _runtime(job: Job, registry: Registry) -> Runtime:
    for runtime in registry.installed:
        if runtime.language == job.language and (runtime.version or "") == job.version:
            return runtime
    raise JobError(
        f"runtime {job.language[:40]!r} {job.version[:40]!r} is not installed "
        "on this worker; every worker needs every runtime the site lists"
    )


def ceiling(stage: str, job: Job, runtime: Runtime, config: Config) -> Limits:
    """The most a stage may get: the worker's maxima, or more where the
    runtime itself needs more (as the web process allows too)."""
    maxima = config.maxima
    output = max(maxima["http_output_bytes"], maxima["page_output_bytes"])
    return runtime.needs(config.stage_maxima(stage, output, job.interactive), stage)


def _check_limits(stage: str, limits: Limits, top: Limits) -> None:
    for name, value in limits.to_wire().items():
        allowed = getattr(top, name)
        if not 0 < value <= allowed:
            raise JobError(
                f"{stage} {name} {value} is outside what this worker allows "
                f"(1..{allowed}); set the same PLAYGROUND_MAX_* on workers "
                "as on web hosts"
            )
