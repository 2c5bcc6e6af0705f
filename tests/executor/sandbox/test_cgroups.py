"""Both cgroup backends: v1 against this machine's real hierarchy, v2 against
a directory tree that imitates cgroupfs (this kernel binds the controllers to
v1, so no real v2 hierarchy can have them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor import config
from executor.errors import SandboxError
from executor.sandbox import cgroups

LIMITS = cgroups.CgroupLimits(memory_bytes=64 << 20, processes=10, cpu_cores=1.0)


def fake_v2(tmp_path: Path, own: str = "/service") -> tuple[Path, Path]:
    """A cgroup2 mount at tmp_path/cg with the controllers, and a proc dir."""
    root = tmp_path / "cg"
    (root / own.lstrip("/")).mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mountinfo").write_text(
        f"41 23 0:38 / {root} rw,relatime - cgroup2 cgroup2 rw\n"
    )
    (proc / "cgroup").write_text(f"0::{own}\n")
    return root, proc


def test_v2_group_is_made_under_the_own_group_with_controllers(tmp_path):
    root, proc = fake_v2(tmp_path)

    hierarchy = cgroups.discover("v2", "playground-1", proc=proc)

    base = root / "service" / "playground-1"
    assert hierarchy.version == "v2" and hierarchy.bases["unified"] == base
    for group in (root, root / "service", base):
        enabled = (group / "cgroup.subtree_control").read_text().split()
        assert {"+memory", "+pids", "+cpu"} <= set(enabled)


def test_v2_stage_limits_are_written(tmp_path):
    _, proc = fake_v2(tmp_path)
    hierarchy = cgroups.discover("v2", "playground-1", proc=proc)

    group = hierarchy.create("run1-run", LIMITS)

    path = hierarchy.bases["unified"] / "run1-run"
    assert (path / "memory.max").read_text() == str(64 << 20)
    assert (path / "memory.swap.max").read_text() == "0"
    assert (path / "memory.oom.group").read_text() == "1"
    assert (path / "pids.max").read_text() == "10"
    assert (path / "cpu.max").read_text() == "100000 100000"
    assert group.join_paths() == [str(path / "cgroup.procs")]


def test_v2_measurements_are_read_from_the_group(tmp_path):
    _, proc = fake_v2(tmp_path)
    group = cgroups.discover("v2", "p", proc=proc).create("r", LIMITS)
    path = Path(group.join_paths()[0]).parent
    (path / "cpu.stat").write_text("usage_usec 1234567\nuser_usec 1000000\n")
    (path / "memory.peak").write_text("104857600\n")
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")

    assert group.cpu_time_ms() == 1234
    assert group.memory_peak_bytes() == 100 << 20
    assert group.oom_killed()


def test_v2_kill_writes_cgroup_kill(tmp_path):
    _, proc = fake_v2(tmp_path)
    group = cgroups.discover("v2", "p", proc=proc).create("r", LIMITS)
    kill = Path(group.join_paths()[0]).parent / "cgroup.kill"
    kill.write_text("0")

    group.kill()

    assert kill.read_text() == "1"


def test_v2_respects_a_configured_parent(tmp_path):
    root, proc = fake_v2(tmp_path)

    hierarchy = cgroups.discover("v2", "p", parent="/delegated/pool", proc=proc)

    assert hierarchy.bases["unified"] == root / "delegated" / "pool" / "p"


def test_v2_without_the_controllers_is_refused(tmp_path):
    root, proc = fake_v2(tmp_path)
    (root / "cgroup.controllers").write_text("cpu io\n")

    with pytest.raises(SandboxError, match="memory, pids and cpu"):
        cgroups.discover("v2", "p", proc=proc)


def test_v2_blocked_controller_delegation_says_what_to_do(tmp_path):
    root, proc = fake_v2(tmp_path)
    control = root / "service" / "cgroup.subtree_control"
    control.mkdir()  # writing to it now fails, as EBUSY would

    with pytest.raises(SandboxError, match="PLAYGROUND_CGROUP_PARENT"):
        cgroups.discover("v2", "p", proc=proc)


def test_v1_groups_limit_and_measure_on_this_machine():
    parent = config.get().cgroup_parent
    hierarchy = cgroups.discover("v1", "playground-v1-test", parent)
    group = hierarchy.create("probe", LIMITS)
    try:
        memory = hierarchy.bases["memory"] / "probe"
        assert (memory / "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
        pids = hierarchy.bases["pids"] / "probe" / "pids.max"
        assert pids.read_text().strip() == "10"
        assert group.cpu_time_ms() == 0 and not group.oom_killed()
    finally:
        group.remove()
        cgroups.release(hierarchy)
    assert not (hierarchy.bases["memory"] / "probe").exists()


def test_groups_of_a_killed_supervisor_are_swept_at_start():
    parent = config.get().cgroup_parent
    first = cgroups.discover("v1", "playground-sweeper", parent)
    dead = next(pid for pid in range(999_999, 0, -1) if not _alive(pid))
    stale = [base.parent / f"playground-{dead}" for base in first.bases.values()]
    for group in stale:
        (group / "left-behind-stage").mkdir(parents=True)
    cgroups.release(first)

    second = cgroups.discover("v1", "playground-sweeper", parent)
    cgroups.release(second)

    assert not any(group.exists() for group in stale)


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()
