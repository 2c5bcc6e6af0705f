"""The compiled launcher that builds a run stage's sandbox: it fails closed
with the step's name, takes exactly one well-formed hand-over, and a run
stopped while its sandbox is being made ends stopped with nothing left.
Every test starts the real launcher."""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import socket
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor import config
from executor.backends.local import LocalBackend
from executor.errors import SandboxError
from executor.events import StageExited
from executor.job import File
from executor.sandbox import Spec, Stdio, cgroups, handover, launch, namespaces, seccomp
from tests.conftest import leftover_cgroups, sandbox_processes
from tests.executor.test_pool import job

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="maps host ids as root, as the supervisor does"
)
HOST_ID = 3_999_000_000  # far above the supervisors' blocks; this test's own


@dataclasses.dataclass
class Place:
    """Where this test's sandboxes go: their cgroups, and a root directory
    for their views that their inits may enter."""

    hierarchy: cgroups.Hierarchy
    root: str
    groups: list[cgroups.Cgroup] = dataclasses.field(default_factory=list)


@pytest.fixture
def place() -> Iterator[Place]:
    settings = config.get()
    hierarchy = cgroups.discover(settings.cgroup_version, f"launcher-{os.getpid()}",
                                 settings.cgroup_parent)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="launcher-root-") as root:
        os.chmod(root, 0o755)  # noqa: S103
        found = Place(hierarchy, root)
        yield found
    for group in found.groups:
        group.remove()
    cgroups.release(hierarchy)


def start(place: Place) -> launch.Pending:
    name = f"launcher-test-{len(place.groups)}"
    group = place.hierarchy.create(name, cgroups.CgroupLimits(2**28, 8, 1.0))
    place.groups.append(group)
    return launch.start_launcher([], 2**20, group.join_paths(), place.root)


def wait_until_ready(pending: launch.Pending) -> launch.Launched:
    """What the supervisor's loop does, blocking: map the ids, learn the
    init, collect the helper, wait for the program child's ready byte."""
    while not pending.advance(HOST_ID):
        pass
    pending.close_sync()
    pending.reap_helper()
    if pending.sock.recv(1) != handover.READY:
        raise launch.failure_from(pending.report_fd, "ready")
    return pending.launched()


def end(pending: launch.Pending) -> None:
    """Close our end of the socket, which ends a waiting sandbox, and collect
    what is left of it."""
    pending.sock.close()
    if pending.init_pid:
        os.waitpid(pending.init_pid, 0)
        os.close(pending.init_pidfd)
    pending.reap_helper()


def test_a_missing_launcher_fails_closed_naming_the_step(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "LAUNCHER", tmp_path / "nowhere")

    with pytest.raises(SandboxError) as raised:
        launch.start_launcher([], 2**20, [], str(tmp_path))

    assert raised.value.step == "launcher"


def test_a_malformed_hand_over_is_refused_before_any_program(place):
    pending = start(place)
    wait_until_ready(pending)

    # Three descriptors, but not the message the program child expects.
    with open(os.devnull) as null:
        socket.send_fds(pending.sock, [b"XXXX\0\0\0\0"], [null.fileno()] * 3)
    end(pending)

    error = launch.failure_from(pending.report_fd, "none")
    assert (error.step, "malformed" in error.detail) == ("hand-over", True)
    os.close(pending.report_fd)


def refusal(
    place: Place, argv: list[str], files: list[File] | None = None
) -> SandboxError:
    """Hand a ready sandbox this run; the step its launcher reports failed."""
    pending = start(place)
    wait_until_ready(pending)
    limits = config.get().stage_limits("run", 64 * 1024)
    spec = Spec("launcher-test", "run", argv, {}, limits, files or [])

    with open(os.devnull, "r+b") as null:
        fd = null.fileno()
        handover.send(pending.sock, spec, Stdio(fd, fd, fd))
    end(pending)

    error = launch.failure_from(pending.report_fd, "none")
    os.close(pending.report_fd)
    return error


@pytest.mark.parametrize("name", ["../tmp/escaped", "/tmp/escaped", "a//b", "./a"])
def test_a_file_name_that_leaves_work_is_refused_before_any_program(place, name):
    error = refusal(place, ["/bin/true"], [File(name, b"planted")])
    assert (error.step, "malformed" in error.detail) == ("files", True)


def test_a_string_with_a_nul_inside_is_refused_before_any_program(place):
    # exec would cut it short: the program would run with other arguments
    # than the run's (Python's exec refuses them outright).
    error = refusal(place, ["/bin/true", "one\0two"])
    assert (error.step, "malformed" in error.detail) == ("hand-over", True)


def test_a_filter_too_long_for_the_kernel_fails_closed(place, monkeypatch):
    # The kernel takes the length as 16 bits: 65537 instructions would load
    # as the first one alone, here "allow everything".
    allow = struct.pack("<HBBI", 0x06, 0, 0, 0x7FFF0000)  # BPF_RET | BPF_K
    fd = os.memfd_create("long-filter", os.MFD_CLOEXEC)
    os.write(fd, allow * 65537)
    monkeypatch.setattr(seccomp, "program_fd", lambda: fd)

    pending = start(place)
    try:
        with pytest.raises(SandboxError) as raised:
            wait_until_ready(pending)
    finally:
        pending.close_sync()
        end(pending)
        os.close(pending.report_fd)
        os.close(fd)

    assert raised.value.step == "seccomp"


def test_the_init_sees_its_program_end_whatever_it_inherited(place):
    # Exec keeps an ignored SIGCHLD; the init waits for exactly that signal.
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        pending = start(place)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    wait_until_ready(pending)
    limits = config.get().stage_limits("run", 64 * 1024)
    spec = Spec("launcher-test", "run", ["/bin/true"], {}, limits)

    with open(os.devnull, "r+b") as null:
        fd = null.fileno()
        handover.send(pending.sock, spec, Stdio(fd, fd, fd))
    reported, _, _ = select.select([pending.report_fd], [], [], 10)
    frame = os.read(pending.report_fd, 4096) if reported else b""
    os.kill(pending.init_pid, signal.SIGKILL)  # if it still waits: our child
    end(pending)
    os.close(pending.report_fd)

    assert b'"type":"exited"' in frame


def test_a_closed_socket_ends_the_sandbox_before_any_program(place):
    pending = start(place)
    wait_until_ready(pending)

    pending.sock.shutdown(socket.SHUT_RDWR)
    end(pending)

    error = launch.failure_from(pending.report_fd, "none")
    assert error.step == "hand-over"
    os.close(pending.report_fd)


def test_the_program_child_waits_with_no_privilege(place):
    pending = start(place)
    launched = wait_until_ready(pending)
    child = int(Path(f"/proc/{launched.init_pid}/task/{launched.init_pid}/children")
                .read_text().split()[0])  # fmt: skip
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{child}/status").read_text()
        .splitlines()
    )  # fmt: skip

    assert status["Uid"].split()[0] == str(namespaces.program_host_id(HOST_ID))
    assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
    end(pending)
    os.close(pending.report_fd)


async def test_a_run_stopped_at_once_ends_stopped_leaving_nothing():
    # With no pool every sandbox is made on demand, and the stop arrives
    # while it is being made.
    backend = LocalBackend(dataclasses.replace(config.get(), pool_size=0))
    try:
        handle = await backend.submit(job("print('warm')"))
        async for _ in handle.events():
            pass
        handle = await backend.submit(job("print('should not run')"))
        await handle.stop()
        results = [e.result async for e in handle.events()
                   if isinstance(e, StageExited)]  # fmt: skip
        supervisors = set(backend.supervisor_pids())

        assert [(r.status, r.message) for r in results] == [
            ("SG", "Stopped on request")
        ]
        assert sandbox_processes(supervisors) == []
        assert leftover_cgroups(supervisors) == []
    finally:
        await backend.aclose()


def test_the_init_is_the_supervisors_own_child_once_the_helper_is_gone(place):
    # Its parent-death signal is then the supervisor's death, directly.
    pending = start(place)
    launched = wait_until_ready(pending)
    status = Path(f"/proc/{launched.init_pid}/status").read_text()

    assert f"\nPPid:\t{os.getpid()}\n" in status
    assert not Path(f"/proc/{pending.helper_pid}").exists()
    end(pending)
    os.close(pending.report_fd)
