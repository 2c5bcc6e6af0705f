"""One cgroup per stage: memory (swap included), pids and CPU quota, plus the
CPU time, peak memory and out-of-memory kills that the result reports.

Parent side only: the supervisor creates the group, the child joins it by
writing its own pid before it unshares (so the cgroup namespace is rooted
there), and the supervisor reads and removes it when the stage ends. Both
cgroup v2 and v1 (memory, pids, cpu, cpuacct) hierarchies are supported.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from executor.errors import SandboxError

CPU_PERIOD_US = 100_000
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int
    processes: int
    cpu_cores: float


class Cgroup(Protocol):
    """A stage's cgroup; every method is called by the supervisor."""

    accounts: bool  # whether CPU time and memory are measured here

    def join_paths(self) -> list[str]: ...
    def set_limits(self, limits: CgroupLimits) -> None: ...
    def rename(self, name: str) -> None: ...
    def reset_peak(self) -> None: ...
    def cpu_time_ms(self) -> int: ...
    def memory_peak_bytes(self) -> int: ...
    def oom_killed(self) -> bool: ...
    def kill(self) -> None: ...
    def remove(self) -> None: ...
    def try_remove(self) -> bool: ...


def _write(path: str, value: str) -> None:
    # os-level calls: a stage writes several of these on the way to its run.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise SandboxError(
            "cgroup", f"cannot write {value!r} to {path}: {exc}"
        ) from exc


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _read_int(path: str, default: int = 0) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return int(os.read(fd, 64).split()[0])
        finally:
            os.close(fd)
    except (OSError, ValueError, IndexError):
        return default


def _read_keyed(path: str, key: str) -> int:
    try:
        for line in _read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _rmdir_once(path: str) -> bool:
    """Remove a group if it is empty: False while its last tasks still exit."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise SandboxError("cgroup", f"cannot remove {path}: {exc}") from exc
        return False
    return True


def _rmdir(path: str) -> None:
    # A group stays busy for a moment while its last tasks finish exiting.
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            time.sleep(0.002)
    raise SandboxError("cgroup", f"{path} still has tasks and cannot be removed")


class NoCgroup:
    """PLAYGROUND_CGROUP=none: nothing is limited or measured for the whole
    run; per-process rlimits and the init's rusage stand in."""

    accounts = False

    def join_paths(self) -> list[str]:
        return []

    def set_limits(self, limits: CgroupLimits) -> None:
        pass

    def rename(self, name: str) -> None:
        pass

    def reset_peak(self) -> None:
        pass

    def cpu_time_ms(self) -> int:
        return 0

    def memory_peak_bytes(self) -> int:
        return 0

    def oom_killed(self) -> bool:
        return False

    def kill(self) -> None:
        pass

    def remove(self) -> None:
        pass

    def try_remove(self) -> bool:
        return True


class CgroupV2:
    accounts = True

    def __init__(self, path: str, limits: CgroupLimits) -> None:
        self.path = path
        self.limits: CgroupLimits | None = None
        try:
            os.mkdir(path)
        except OSError as exc:
            raise SandboxError("cgroup", f"cannot create {path}: {exc}") from exc
        _write(f"{path}/memory.swap.max", "0")
        _write(f"{path}/memory.oom.group", "1")
        self.set_limits(limits)

    def set_limits(self, limits: CgroupLimits) -> None:
        """Write the limits that differ from the group's current ones."""
        old = self.limits
        if old is None or limits.memory_bytes != old.memory_bytes:
            _write(f"{self.path}/memory.max", str(limits.memory_bytes))
        if old is None or limits.processes != old.processes:
            _write(f"{self.path}/pids.max", str(limits.processes))
        if old is None or limits.cpu_cores != old.cpu_cores:
            quota = int(CPU_PERIOD_US * limits.cpu_cores)
            _write(f"{self.path}/cpu.max", f"{quota} {CPU_PERIOD_US}")
        self.limits = limits

    def rename(self, name: str) -> None:
        self.path = _rename(self.path, name)

    def reset_peak(self) -> None:
        # Known gap: memory.peak resets only per open file (Linux 6.12), so a
        # pooled stage's peak also counts its small pre-isolation footprint.
        pass

    def join_paths(self) -> list[str]:
        return [f"{self.path}/cgroup.procs"]

    def cpu_time_ms(self) -> int:
        return _read_keyed(f"{self.path}/cpu.stat", "usage_usec") // 1000

    def memory_peak_bytes(self) -> int:
        return _read_int(f"{self.path}/memory.peak")

    def oom_killed(self) -> bool:
        return _read_keyed(f"{self.path}/memory.events", "oom_kill") > 0

    def kill(self) -> None:
        if os.path.exists(f"{self.path}/cgroup.kill"):
            _write(f"{self.path}/cgroup.kill", "1")
        else:  # before Linux 5.14; the pid namespace's end does the rest
            _kill_all(f"{self.path}/cgroup.procs")

    def remove(self) -> None:
        _rmdir(self.path)

    def try_remove(self) -> bool:
        return _rmdir_once(self.path)


class CgroupV1:
    accounts = True

    def __init__(self, paths: dict[str, str], limits: CgroupLimits) -> None:
        self.paths = paths
        self.limits: CgroupLimits | None = None
        for path in paths.values():
            try:
                os.mkdir(path)
            except OSError as exc:
                raise SandboxError("cgroup", f"cannot create {path}: {exc}") from exc
        memory = paths["memory"]
        self.swap = os.path.exists(f"{memory}/memory.memsw.limit_in_bytes")
        _write(f"{memory}/memory.swappiness", "0")
        _write(f"{paths['cpu']}/cpu.cfs_period_us", str(CPU_PERIOD_US))
        self.set_limits(limits)

    def set_limits(self, limits: CgroupLimits) -> None:
        """Write the limits that differ from the group's current ones."""
        old = self.limits
        if old is None or limits.memory_bytes != old.memory_bytes:
            self._set_memory(limits.memory_bytes, old)
        if old is None or limits.processes != old.processes:
            _write(f"{self.paths['pids']}/pids.max", str(limits.processes))
        if old is None or limits.cpu_cores != old.cpu_cores:
            quota = int(CPU_PERIOD_US * limits.cpu_cores)
            _write(f"{self.paths['cpu']}/cpu.cfs_quota_us", str(quota))
        self.limits = limits

    def _set_memory(self, value: int, old: CgroupLimits | None) -> None:
        # memsw may never be below the plain limit: order the writes so that
        # both lowering and raising them succeed (a new group has no limit).
        memory = self.paths["memory"]
        pair = [("memory.limit_in_bytes", value)]
        if self.swap:
            pair.append(("memory.memsw.limit_in_bytes", value))
            if old is not None and value > old.memory_bytes:
                pair.reverse()
        for name, number in pair:
            _write(f"{memory}/{name}", str(number))

    def rename(self, name: str) -> None:
        # One hierarchy at a time: if one refuses, the paths still say where
        # each part of the group is, so that it can be killed and removed.
        for controller, path in self.paths.items():
            self.paths[controller] = _rename(path, name)

    def reset_peak(self) -> None:
        _write(f"{self.paths['memory']}/memory.max_usage_in_bytes", "0")

    def join_paths(self) -> list[str]:
        return [f"{path}/cgroup.procs" for path in self.paths.values()]

    def cpu_time_ms(self) -> int:
        return _read_int(f"{self.paths['cpuacct']}/cpuacct.usage") // 1_000_000

    def memory_peak_bytes(self) -> int:
        return _read_int(f"{self.paths['memory']}/memory.max_usage_in_bytes")

    def oom_killed(self) -> bool:
        return _read_keyed(f"{self.paths['memory']}/memory.oom_control", "oom_kill") > 0

    def kill(self) -> None:
        # v1 has no cgroup.kill; the pid namespace's end kills the rest, and
        # this sweep catches anything that joined the group another way.
        _kill_all(f"{self.paths['pids']}/cgroup.procs")

    def remove(self) -> None:
        for path in self.paths.values():
            _rmdir(path)

    def try_remove(self) -> bool:
        return all([_rmdir_once(path) for path in self.paths.values()])


def _rename(path: str, name: str) -> str:
    """Rename a group in place: its tasks and limits stay with it."""
    target = os.path.join(os.path.dirname(path), name)
    try:
        os.rename(path, target)
    except OSError as exc:
        raise SandboxError("cgroup", f"cannot rename {path} to {name}: {exc}") from exc
    return target


def _kill_all(procs: str) -> None:
    try:
        pids = [int(line) for line in _read(procs).split()]
    except OSError:
        return
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


@dataclass(frozen=True)
class Hierarchy:
    """Where this supervisor makes its stages' groups."""

    version: str
    bases: dict[str, Path]

    def create(self, name: str, limits: CgroupLimits) -> Cgroup:
        if self.version == "none":
            return NoCgroup()
        if self.version == "v2":
            return CgroupV2(f"{self.bases['unified']}/{name}", limits)
        return CgroupV1({c: f"{base}/{name}" for c, base in self.bases.items()}, limits)


PROC_SELF = Path("/proc/self")
V2_CONTROLLERS = ("memory", "pids", "cpu")


def _mounts(proc: Path) -> list[tuple[str, str, set[str]]]:
    """(mount point, filesystem type, super options) of every cgroup mount."""
    found = []
    for line in (proc / "mountinfo").read_text().splitlines():
        fields = line.split()
        dash = fields.index("-")
        fstype, options = fields[dash + 1], set(fields[dash + 3].split(","))
        if fstype in ("cgroup", "cgroup2"):
            found.append((fields[4], fstype, options))
    return found


def _own_paths(proc: Path) -> dict[str, str]:
    """This process's cgroup path per v1 controller, and 'unified' for v2."""
    paths: dict[str, str] = {}
    for line in (proc / "cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ["unified"]:
            paths[controller] = path
    return paths


def discover(
    version: str, owner: str, parent: str | None = None, proc: Path = PROC_SELF
) -> Hierarchy:
    """Find a usable hierarchy and make this supervisor's group `owner` in it,
    under `parent` (a path inside the hierarchy) or else under its own group."""
    if version == "none":
        return Hierarchy("none", {})
    mounts, own = _mounts(proc), _own_paths(proc)
    v1 = {c: m[0] for m in mounts if m[1] == "cgroup" for c in V1_CONTROLLERS
          if c in m[2]}  # fmt: skip
    v2 = [Path(m[0]) for m in mounts if m[1] == "cgroup2"]
    if version in ("auto", "v1") and all(c in v1 for c in V1_CONTROLLERS):
        bases = {c: Path(v1[c]) / (parent or own.get(c, "/")).lstrip("/") / owner
                 for c in V1_CONTROLLERS}  # fmt: skip
        hierarchy = Hierarchy("v1", bases)
    elif version in ("auto", "v2") and v2 and _has_v2_controllers(v2[0]):
        relative = (parent or own.get("unified", "/")).lstrip("/")
        hierarchy = Hierarchy("v2", {"unified": v2[0] / relative / owner})
        _enable_v2_controllers(v2[0], v2[0] / relative / owner)
    else:
        raise SandboxError(
            "cgroup",
            f"no cgroup {version} hierarchy with the memory, pids and cpu controllers "
            "is mounted; mount cgroup2 with them available, or the v1 controllers",
        )
    for base in hierarchy.bases.values():
        _sweep_stale(base.parent)
        _make_group(base)
    return hierarchy


def _sweep_stale(parent: Path) -> None:
    """Remove groups left by supervisors that were killed (SIGKILL leaves no
    time to clean up); their pids name them, and those pids are gone."""
    for group in parent.glob("playground-*"):
        pid = group.name.removeprefix("playground-")
        if not pid.isdigit() or _alive(int(pid)):
            continue
        for stage in [p for p in group.iterdir() if p.is_dir()]:
            _remove_quietly(stage)
        _remove_quietly(group)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_quietly(group: Path) -> None:
    try:
        group.rmdir()
    except OSError:
        pass  # still has tasks; a later start tries again


def _make_group(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SandboxError("cgroup", f"cannot create {path}: {exc}; run as root "
                           "or set PLAYGROUND_CGROUP_PARENT to a delegated group "
                           "this user may write") from exc  # fmt: skip


def _has_v2_controllers(root: Path) -> bool:
    try:
        available = set((root / "cgroup.controllers").read_text().split())
    except OSError:
        return False
    return set(V2_CONTROLLERS) <= available


def _enable_v2_controllers(root: Path, base: Path) -> None:
    """Enable the controllers on every group from the root down to `base`.

    A v2 group that holds processes cannot pass controllers on, so the parent
    must be a group whose processes live in leaves (systemd's Delegate=yes
    gives one); the error says so."""
    chain = [root, *[root / p for p in _prefixes(base.relative_to(root))]]
    for group in chain:
        _make_group(group)
        control = group / "cgroup.subtree_control"
        try:
            enabled = set(control.read_text().split())
        except OSError:
            enabled = set()  # the write below fails and says why
        missing = [c for c in V2_CONTROLLERS if c not in enabled]
        if not missing:
            continue
        try:
            control.write_text(" ".join(f"+{c}" for c in missing))
        except OSError as exc:
            raise SandboxError(
                "cgroup",
                f"cannot enable {missing} in {control}: {exc}; processes in that "
                "group block it: set PLAYGROUND_CGROUP_PARENT to an empty "
                "delegated group",
            ) from exc


def _prefixes(relative: Path) -> list[Path]:
    parts = relative.parts
    return [Path(*parts[: i + 1]) for i in range(len(parts))]


def release(hierarchy: Hierarchy) -> None:
    """Remove this supervisor's parent group once its stages are gone."""
    for base in hierarchy.bases.values():
        try:
            base.rmdir()
        except OSError:
            pass
