"""A worker checks each job it takes from the queue against its own runtimes
and maxima: anyone who can write to Redis can publish one."""

import dataclasses

import pytest

from executor.admission import admit
from executor.errors import JobError
from executor.job import Job
from tests.executor.test_requests import REGISTRY, SETTINGS, build, request


def c_job() -> Job:
    return build(request(language="c", files=[{"content": "int main(){}"}]))


def with_run_limit(job: Job, **limits: int) -> Job:
    stages = [
        dataclasses.replace(s, limits=dataclasses.replace(s.limits, **limits))
        if s.name == "run" else s
        for s in job.stages
    ]  # fmt: skip
    return dataclasses.replace(job, stages=stages)


def refused(job: Job) -> str:
    with pytest.raises(JobError) as caught:
        admit(job, REGISTRY, SETTINGS)
    return str(caught.value)


def test_a_job_the_site_built_is_admitted():
    admit(build(request()), REGISTRY, SETTINGS)
    admit(c_job(), REGISTRY, SETTINGS)


def test_limits_above_the_workers_maxima_are_refused():
    wall = SETTINGS.maxima["run_wall_time_ms"]
    job = with_run_limit(build(request()), wall_time_ms=wall + 1)
    assert f"run wall_time_ms {wall + 1}" in refused(job)

    job = with_run_limit(build(request()), memory_bytes=1 << 40)
    assert "PLAYGROUND_MAX_" in refused(job)

    job = with_run_limit(build(request()), processes=0)
    assert "processes 0" in refused(job)


def test_host_paths_the_runtime_does_not_read_are_refused():
    job = dataclasses.replace(build(request()), readonly_paths=["/root"])
    assert "/root" in refused(job)


def test_a_runtime_this_worker_lacks_is_refused():
    job = dataclasses.replace(build(request()), language="python\nforged log")
    assert "not installed on this worker" in refused(job)

    job = dataclasses.replace(build(request()), version="2.7")
    assert "not installed on this worker" in refused(job)


@pytest.mark.parametrize("run_id", ["../../evil", "", "A" * 12, "0123456789ab:x"])
def test_a_run_id_the_site_would_not_make_is_refused(run_id):
    job = dataclasses.replace(build(request()), run_id=run_id)
    assert "run id" in refused(job)


def test_stages_other_than_the_runtimes_are_refused():
    job = c_job()
    skipped = dataclasses.replace(job, stages=job.stages[1:])
    assert "compile" in refused(skipped)

    renamed = [dataclasses.replace(s, name="../x") for s in job.stages]
    assert "stages" in refused(dataclasses.replace(job, stages=renamed))
