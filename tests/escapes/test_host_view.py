"""What the program can see of the host, and what it can change of its own
view, its limits and the files it leaves behind: nothing that matters."""

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from executor import config
from executor.backends.local import LocalBackend
from tests.conftest import ROOMY_WALL_MS, execute, pool_settled, raised_maxima
from tests.escapes.running import (
    open_fds,
    sandbox_pids,
    start_until,
    stop_and_drain,
    timed,
)

pytestmark = pytest.mark.usefixtures("host_is_clean")

PROJECT = Path(__file__).resolve().parents[2]
MIB = 1 << 20


async def test_etc_is_a_minimal_synthetic_copy(backend):
    source = """
import os
print(" ".join(sorted(os.listdir("/etc"))))
print(open("/etc/passwd").read(), end="")
"""
    result = await execute(backend, "python", source)
    listing, *passwd = result["run"]["stdout"].splitlines()
    assert not {"shadow", "gshadow", "sudoers", "ssh", "ssl"} & set(listing.split())
    assert sorted(line.split(":")[0] for line in passwd) == ["nobody", "runner"]


async def test_walking_the_whole_tree_finds_nothing_of_the_host(backend):
    source = """
import os
count, found = 0, []
forbidden = ("/home", "/root", "/var", "/run", "/sys", "/srv", "/opt", "/mnt")
for root, dirs, files in os.walk("/"):
    if root == "/":
        dirs.remove("proc")
    count += len(files)
    for name in dirs + files:
        path = os.path.join(root, name)
        if path.startswith(forbidden) or name in (
            "docker.sock", "manage.py", "secret_key", "db.sqlite3"
        ) or "playground-" in path:
            found.append(path)
print(count > 1000, found)
"""
    # The walk reads some 150,000 entries of /usr: on a cold cache, with other
    # sandboxes busy, it can take the whole default 3 s of wall time. What it
    # finds is the property here, so it gets the time to finish.
    room = {"run_timeout": ROOMY_WALL_MS, "run_cpu_time": ROOMY_WALL_MS}
    roomy = raised_maxima(run_wall_time_ms=ROOMY_WALL_MS,
                          run_cpu_time_ms=ROOMY_WALL_MS)  # fmt: skip
    result = await execute(backend, "python", source, settings=roomy, **room)
    assert result["run"]["status"] is None
    assert result["run"]["stdout"] == "True []\n"


async def test_web_process_secrets_reach_neither_the_init_nor_the_program(
    monkeypatch,
):
    # A backend of our own, started after a secret entered our environment.
    token = uuid.uuid4().hex
    monkeypatch.setenv("PLAYGROUND_TEST_API_TOKEN", token)
    source = """
import os, time
print(sorted(os.environ), flush=True)
time.sleep(30)
"""
    own = LocalBackend(config.get())
    try:
        _, run, printed = await start_until(own, "python", source, b"]")
        environs = {inner: _environ(pid) for pid, inner in sandbox_pids(own).items()}
        await stop_and_drain(run)
    finally:
        await own.aclose()
    assert {1, 2} <= set(environs) and environs[2] is not None
    assert not [i for i, env in environs.items() if env and token.encode() in env]
    assert "PLAYGROUND_TEST_API_TOKEN" not in printed.decode()


def _environ(pid: int) -> bytes | None:
    """A process's environment; None when it may not be read, as an ordinary
    user may not read the (non-dumpable) init's."""
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except PermissionError:
        return None


async def test_init_command_line_names_nothing_of_the_host(backend):
    # Pid 1 is the sandbox's own init, a fork of the supervisor; what the
    # program reads there must not describe the host.
    source = "print(open('/proc/1/cmdline', 'rb').read().replace(b'\\0', b' '))"
    result = await execute(backend, "python", source)
    cmdline = result["run"]["stdout"]
    assert cmdline
    assert str(PROJECT) not in cmdline
    assert f" {os.getpid()} " not in cmdline


async def test_sysfs_and_host_cgroups_are_invisible(backend):
    source = """
import os
print(os.path.exists("/sys"))
for path in ("/sys/class/dmi/id/product_uuid", "/sys/fs/cgroup/cgroup.procs"):
    try:
        open(path).read()
        print("ESCAPED", path)
    except OSError as exc:
        print("BLOCKED", exc.errno)
groups = open("/proc/self/cgroup").read().split()
print(sorted({line.split(":", 2)[2] for line in groups}))
print([line.split(" - ")[1].split()[0] for line in open("/proc/self/mountinfo")
       if "cgroup" in line.split(" - ")[1].split()[0]])
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "False\nBLOCKED 2\nBLOCKED 2\n['/']\n[]\n"


async def test_mount_commands_leave_the_view_unchanged(backend):
    script = """
before=$(cat /proc/self/mountinfo)
mount -t tmpfs none /tmp 2>/dev/null && echo "ESCAPED mount tmpfs"
mount -o remount,rw / 2>/dev/null && echo "ESCAPED remount"
mount --bind /work /usr 2>/dev/null && echo "ESCAPED bind"
umount -l /proc 2>/dev/null && echo "ESCAPED umount"
unshare -rm true 2>/dev/null && echo "ESCAPED unshare"
[ "$before" = "$(cat /proc/self/mountinfo)" ] && echo "mounts unchanged"
touch /pwn 2>/dev/null && echo "ESCAPED write root"
"""
    result = await execute(backend, "bash", script)
    assert result["run"]["stdout"] == "mounts unchanged\n"


async def test_setuid_programs_gain_nothing(backend):
    script = """
su -c id root >/dev/null 2>&1 && echo "ESCAPED su"
mount -t tmpfs none /tmp >/dev/null 2>&1 && echo "ESCAPED mount"
test -u /usr/bin/mount && echo "setuid file present"
awk '{ split($0, s, " - "); split(s[1], f, " "); split(s[2], t, " ")
       if (t[1] != "devtmpfs" && f[6] !~ /nosuid/) print "suid allowed on", f[5] }' \\
    /proc/self/mountinfo
id -u
"""
    result = await execute(backend, "bash", script)
    assert result["run"]["stdout"] == "setuid file present\n1000\n"


async def test_special_files_left_in_work_are_harmless(backend):
    script = """
cp /bin/sh /work/sh && chmod 4755 /work/sh
/work/sh -c 'echo "ids $(id -u) $(id -ru)"'
mknod /work/mem c 1 1 2>/dev/null && echo "ESCAPED mknod mem"
mknod /work/kmsg c 1 11 2>/dev/null && echo "ESCAPED mknod kmsg"
mkfifo /work/out.txt /work/stdout.txt /work/main && echo "fifos planted"
"""
    result, elapsed = await timed(execute(backend, "bash", script))
    assert result["run"]["stdout"] == "ids 1000 1000\nfifos planted\n"
    # Nothing on the host side opened a fifo and waited for a writer.
    assert elapsed < 1.5


async def test_hard_links_to_files_outside_work_are_refused(backend):
    source = """
import os
for src in ["/usr/bin/python3.11", "/etc/passwd", "/etc/hostname", "/dev/null"]:
    try:
        os.link(src, "/work/" + os.path.basename(src))
        print("ESCAPED", src)
    except OSError as e:
        print("BLOCKED", e.errno)
"""
    result = await execute(backend, "python", source)
    errnos = {int(line.split()[1]) for line in result["run"]["stdout"].splitlines()}
    assert "ESCAPED" not in result["run"]["output"]
    assert errnos <= {18, 1}  # EXDEV, EPERM


def cgroup_files(pid: int) -> dict[str, Path]:
    """Controller (or "unified") -> the host directory of pid's cgroup."""
    mounts = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        fstype, _, options = tail.split()[:3]
        point = fields.split()[4]
        if fstype == "cgroup2":
            mounts["unified"] = point
        elif fstype == "cgroup":
            for option in options.split(","):
                mounts.setdefault(option, point)
    found = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ["unified"]:
            if controller in mounts:
                found[controller] = Path(mounts[controller] + path)
    return found


async def test_cgroup_cannot_be_left_or_its_limits_changed(backend):
    script = """
echo $$ > /sys/fs/cgroup/cgroup.procs
echo max > /sys/fs/cgroup/memory.max
echo -1 > /sys/fs/cgroup/memory/memory.limit_in_bytes
mkdir -p /tmp/cg && mount -t cgroup -o memory cg /tmp/cg
mkdir -p /tmp/cg2 && mount -t cgroup2 none /tmp/cg2
echo tried
exec sleep 30
"""
    job, run, _ = await start_until(backend, "bash", script, b"tried")
    try:
        program = [pid for pid, inner in sandbox_pids(backend).items() if inner == 2]
        groups = cgroup_files(program[0])
        memory = groups.get("memory", groups["unified"])
        pids = groups.get("pids", groups["unified"])
        limit_file = "memory.limit_in_bytes" if "memory" in groups else "memory.max"
        memory_limit = int((memory / limit_file).read_text())
        pids_limit = int((pids / "pids.max").read_text())
    finally:
        await stop_and_drain(run)
    limits = job.stages[-1].limits
    assert memory.name == pids.name == f"{job.run_id}-run"
    assert memory_limit == limits.memory_bytes
    assert limits.processes <= pids_limit <= limits.processes + 2


async def test_descriptor_exhaustion_leaves_host_descriptors_alone(backend):
    # The pool then holds sandboxes like the one the run takes (an idle
    # sandbox whose interpreter has started holds its stdio's other ends).
    await execute(backend, "python", "pass")
    supervisor = backend.supervisor_pids()[0]
    # Idle pooled sandboxes hold descriptors too: count when the pool is full.
    await pool_settled(supervisor)
    before = open_fds(supervisor), open_fds(os.getpid())
    result = await execute(
        backend, "python", "fs = []\nwhile True: fs.append(open('/dev/null'))"
    )
    assert result["run"]["status"] == "RE"
    await pool_settled(supervisor)
    assert (open_fds(supervisor), open_fds(os.getpid())) == before


async def test_inode_exhaustion_is_an_ordinary_error(backend):
    source = """
i = 0
while True: open(f'f{i}', 'w').close(); i += 1
"""
    result, elapsed = await timed(execute(backend, "python", source))
    assert result["run"]["status"] == "RE"
    assert "No space left on device" in result["run"]["stderr"]
    assert elapsed < 2  # the work directory is discarded, not emptied file by file


async def test_files_under_the_size_cap_still_hit_the_work_quota(backend):
    source = """
written = 0
try:
    for i in range(100):
        with open(f"part{i}", "wb") as f:
            f.write(b"\\0" * 9_000_000)
        written += 9_000_000
    print("wrote everything")
except OSError as exc:
    print("stopped", exc.errno, written)
"""
    filled, canary = await asyncio.gather(
        execute(backend, "python", source),
        execute(backend, "python", "print('canary ok')"),
    )
    word, errno, written = filled["run"]["stdout"].split()
    assert (word, errno) == ("stopped", "28")  # ENOSPC
    assert int(written) <= config.get().defaults["workdir_bytes"]
    assert canary["run"]["stdout"] == "canary ok\n"
