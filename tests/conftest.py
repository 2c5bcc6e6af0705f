"""Fixtures shared by the suite: running programs in the real sandbox, and
checking afterwards that nothing of a run is left on the host."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.configuration
import pytest

from executor import config
from executor.backends import Backend, get_backend
from executor.backends.local import LocalBackend
from executor.requests import build_job
from playground.api.results import collect
from playground.registry import registry
from tests.servers import children, cmdline, daphne, free_port

PROJECT = Path(__file__).resolve().parents[1]

# Property-based tests keep no example database, and whatever Hypothesis
# stores goes to a temporary directory of this user, not into the checkout.
hypothesis.configuration.set_hypothesis_home_dir(
    Path(tempfile.gettempdir()) / f"playground-hypothesis-{os.getuid()}"
)
hypothesis.settings.register_profile("suite", database=None)
hypothesis.settings.load_profile("suite")

# Every test client comes from 127.0.0.1: lift the per-client limits for the
# suite (the live site inherits them). Tests of the limits set their own.
for _name, _value in (("RUNS_PER_SECOND", "1000"), ("RUN_BURST", "1000"),
                      ("MAX_RUNS_PER_CLIENT", "1000"),
                      ("SNIPPETS_PER_SECOND", "1000"),
                      ("SNIPPET_BURST", "1000")):  # fmt: skip
    os.environ.setdefault(f"PLAYGROUND_{_name}", _value)


@pytest.fixture(autouse=True)
def _database(transactional_db: None) -> None:
    """Runs write audit records from several threads, so every test gets a
    real database whose writes all threads see."""


@pytest.fixture(scope="session")
async def backend() -> AsyncIterator[Backend]:
    """The backend the site itself uses; its supervisor ends with the session."""
    shared = get_backend()
    yield shared
    assert isinstance(shared, LocalBackend)
    await shared.aclose()


async def execute(
    backend: Backend,
    language: str,
    source: str,
    *,
    stdin: str = "",
    args: list[str] | None = None,
    files: list[dict[str, str]] | None = None,
    output_bytes: int | None = None,
    settings: config.Config | None = None,
    **limits: int,
) -> dict[str, Any]:
    """Run a program to completion; answer as POST /api/v2/execute would,
    with the HTTP output cap unless `output_bytes` says otherwise, and with
    the site's maxima unless `settings` gives others."""
    payload = {
        "language": language,
        "version": "*",
        "stdin": stdin,
        "args": args or [],
        "files": [{"content": source}, *(files or [])],
        **limits,
    }
    settings = settings or config.get()
    cap = output_bytes or settings.defaults["http_output_bytes"]
    job, _ = build_job(payload, registry(), settings, cap)
    run = await backend.submit(job)
    stages: dict[str, Any] = {}
    await collect(run, stages, {})
    return stages


def raised_maxima(**maxima: int) -> config.Config:
    """The site's settings with some maxima raised, for a run whose test is
    about another limit or none: on a busy machine a run gets less of a CPU,
    and the site's 3 s of wall time can end it first."""
    site = config.get()
    return dataclasses.replace(site, maxima={**site.maxima, **maxima})


# A wall time limit that leaves the CPU limit (or the program) to end the run.
ROOMY_WALL_MS = 30000


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def process_uid(pid: int) -> int:
    """A process's real uid; 0 if it has ended since it was listed."""
    return int(_status(pid).get("Uid", "0").split()[0])


def _descends_from(pid: int, ancestors: set[int]) -> bool:
    while pid > 1:
        pid = int(_status(pid).get("PPid", "0"))
        if pid in ancestors:
            return True
    return False


def _cmdline(pid: int) -> bytes:
    return cmdline(pid).rstrip(b"\0")


def _group(pid: int) -> str:
    """The process's pids cgroup (v1) or its unified group (v2)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return ""
    groups = dict(line.split(":", 2)[1:] for line in lines)
    return groups.get("pids", groups.get("", ""))


def _of_no_run(pid: int, supervisors: set[int]) -> bool:
    """Whether a process under a supervisor belongs to no run: a pooled
    sandbox no run has taken (in a group the pool made, "pool-N"), or a
    helper just forked that has not joined a group yet. Every process of a
    run is in its stage's group before any of the run's code exists, the
    supervisor renames a pooled group when a stage takes it, and nothing in
    a sandbox can leave its group: a run's processes never count here."""
    group = _group(pid)
    if group.rsplit("/", 1)[-1].startswith("pool-"):
        return True
    parent = int(_status(pid).get("PPid", "0"))
    return parent in supervisors and group == _group(parent)


def is_zygote(pid: int) -> bool:
    """Whether a supervisor's child is its zygote (executor/sandbox/zygote.py),
    which is no sandbox: it makes them."""
    return b"_playground_zygote" in _cmdline(pid)


def idle_pool_processes(supervisors: set[int]) -> set[int]:
    """The processes of the supervisors' idle pooled sandboxes."""
    idle: set[int] = set()
    for supervisor in supervisors:
        for helper in filter(lambda pid: not is_zygote(pid), children(supervisor)):
            tree = [helper, *children(helper)]
            tree += [p for init in tree[1:] for p in children(init)]
            idle |= {pid for pid in tree if _of_no_run(pid, supervisors)}
    return idle


def _reads_work_file(pid: int) -> bool:
    """Whether a sandbox process is an interpreter (no longer the launcher,
    titled "init") with a file of /work open: its FIFO, once it reads its
    program."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    started = _cmdline(pid) != b"init"
    return started and any(link.startswith("/work/") for link in links)


def _idle_sandboxes_ready(supervisor: int, size: int) -> bool:
    """`size` idle pooled sandboxes, each an init and its program child (the
    helper gone); one whose interpreter starts before its run has a second
    child, its feeder, and is ready once the interpreter reads its FIFO."""
    idle = idle_pool_processes({supervisor})
    inits = [pid for pid in idle if pid in children(supervisor)]
    if len(inits) != size:
        return False
    for init in inits:
        below = children(init)
        if not below or len(below) == 2 and not any(map(_reads_work_file, below)):
            return False
    return True


async def pool_settled(
    supervisor: int, timeout: float = 5.0, size: int | None = None
) -> None:
    """Wait until a supervisor's pool is full again and ready, and its
    descriptors stop changing."""
    size = config.get().pool_size if size is None else size
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        fds = len(list(Path(f"/proc/{supervisor}/fd").iterdir()))
        if _idle_sandboxes_ready(supervisor, size) and fds == last:
            return
        last = fds
        await asyncio.sleep(0.05)
    raise AssertionError(f"the pool of supervisor {supervisor} did not refill")


def sandbox_processes(supervisors: set[int]) -> list[tuple[int, int]]:
    """(pid, uid) of host processes under these supervisors: between runs a
    supervisor has no children but its idle pooled sandboxes. Other
    supervisors are not ours."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _of_no_run(int(entry.name), supervisors):
            continue
        if _descends_from(int(entry.name), supervisors):
            found.append((int(entry.name), process_uid(int(entry.name))))
    return found


def leftover_cgroups(supervisors: set[int]) -> list[str]:
    """Stage cgroups still present under these supervisors' parent groups."""
    left = []
    names = {f"playground-{pid}" for pid in supervisors}
    # os.walk, unlike Path.rglob, shrugs off groups removed while it walks.
    for directory, subdirectories, _ in os.walk("/sys/fs/cgroup/pids"):
        if os.path.basename(directory) in names:
            # A pooled sandbox's group is renamed after the stage that takes it.
            left += [os.path.join(directory, name) for name in subdirectories
                     if not name.startswith("pool-")]  # fmt: skip
            subdirectories.clear()
    return left


SENTINELS = [
    Path("/etc/passwd"),
    Path("/etc/hostname"),
    Path(sys.executable),
    Path("/usr/bin/python3.11"),
    PROJECT / "manage.py",
]


def _fingerprints() -> dict[Path, tuple[str, int, int, int]]:
    prints = {}
    for path in SENTINELS:
        if path.exists():
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            prints[path] = (digest, info.st_mtime_ns, info.st_uid, info.st_mode)
    return prints


@pytest.fixture
async def host_is_clean(backend: Backend) -> AsyncIterator[None]:
    """After the test: no process of its runs alive, no stage cgroup left,
    sentinel host files unchanged, and a hello run is still quick."""
    assert isinstance(backend, LocalBackend)
    before = _fingerprints()
    yield
    assert _fingerprints() == before, "a host file changed"
    started = time.monotonic()
    hello = await execute(backend, "bash", "echo hello")
    assert hello["run"]["stdout"] == "hello\n"
    assert time.monotonic() - started < 2, "the executor is slow after the test"
    supervisors = set(backend.supervisor_pids())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and (
        sandbox_processes(supervisors) or leftover_cgroups(supervisors)
    ):
        time.sleep(0.05)
    assert sandbox_processes(supervisors) == [], "a process outlived its run"
    assert leftover_cgroups(supervisors) == [], "a stage's cgroup was not removed"


# -- a live site: daphne on a free loopback port, with its own database ------


_free_port = free_port  # the name other test modules import


ADMIN = ("teacher", "a-long-test-password")


@pytest.fixture(scope="session")
def site_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**os.environ, "PLAYGROUND_VAR_DIR": str(tmp_path_factory.mktemp("var"))}


@pytest.fixture(scope="session")
def site_admin(site_env: dict[str, str], site: str) -> tuple[str, str]:
    env = {**site_env, "DJANGO_SUPERUSER_PASSWORD": ADMIN[1]}
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput",
                    "--username", ADMIN[0], "--email", "t@example.invalid"],
                   cwd=PROJECT, env=env, check=True, capture_output=True)  # fmt: skip
    return ADMIN


@pytest.fixture(scope="session")
def site(site_env: dict[str, str]) -> Iterator[str]:
    with daphne(site_env) as (port, _):
        yield f"http://127.0.0.1:{port}"
