"""The program sees a read-only view of its toolchain, a private /work and
/tmp that vanish with the run, and nothing else of the host."""

import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import execute

pytestmark = pytest.mark.usefixtures("host_is_clean")

PROJECT = Path(__file__).resolve().parents[2]

PROBE_READ = """
import sys
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as f:
            f.read(1)
        print("ESCAPED read", path)
    except OSError as exc:
        print("BLOCKED", path, exc.errno)
"""


async def test_host_secrets_and_project_files_are_invisible(backend):
    targets = [
        "/etc/shadow",
        "/root/.bashrc",
        "/proc/1/root/etc/shadow",
        str(PROJECT / "manage.py"),
        str(PROJECT / "var" / "secret_key"),
        "/home",
        "/var/lib/dpkg/status",
        "/sys/kernel/notes",
    ]
    result = await execute(backend, "python", PROBE_READ, args=targets)
    assert "ESCAPED" not in result["run"]["output"]
    assert result["run"]["stdout"].count("BLOCKED") == len(targets)


async def test_only_the_allowed_tree_is_visible(backend):
    source = "import os; print(sorted(os.listdir('/')))"
    result = await execute(backend, "python", source)
    visible = set(eval(result["run"]["stdout"]))  # noqa: S307 (our own output)
    assert visible <= {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "sbin",
        "tmp",
        "usr",
        "work",
    }
    assert not visible & {"root", "home", "var", "run", "sys", "opt", "srv"}


async def test_root_and_toolchain_are_read_only(backend):
    script = """
for d in / /usr /usr/bin /etc /bin /proc/sys /dev; do
    if touch "$d/pwn" 2>/dev/null; then echo "ESCAPED write $d"; fi
done
touch /work/ok /tmp/ok && echo writable
"""
    result = await execute(backend, "bash", script)
    assert "ESCAPED" not in result["run"]["output"]
    assert result["run"]["stdout"].strip() == "writable"


async def test_work_and_tmp_start_empty_for_every_run(backend):
    plant = (
        "for d in /work /tmp /dev/shm; do echo secret > $d/left-behind; done; ls /work"
    )
    first = await execute(backend, "bash", plant)
    assert "left-behind" in first["run"]["stdout"]

    look = "ls -A /tmp /dev/shm; ls /work"
    second = await execute(backend, "bash", look)
    assert "left-behind" not in second["run"]["output"]


async def test_planted_symlinks_never_redirect_host_writes(backend, tmp_path):
    canary = tmp_path / "canary"
    canary.write_text("original\n")
    before = hashlib.sha256(canary.read_bytes()).hexdigest(), canary.stat()
    names = "run.sh run stdin.txt stdout.txt main.py input.txt output.txt main a.out"
    plant = f"""
for n in {names}; do ln -sf {canary} "$n" 2>/dev/null; ln -sf /etc/passwd "p$n"; done
ln -sfn / rootlink
echo planted
"""
    result = await execute(backend, "bash", plant)
    assert result["run"]["stdout"] == "planted\n"

    # The compile stage plants too, and its files move into the run stage.
    c_source = "#include <unistd.h>\nint main(void) { return 0; }\n"
    compiled = await execute(
        backend, "c", c_source, files=[{"name": "stdout.txt", "content": "x"}]
    )
    assert compiled["run"]["status"] is None

    after = hashlib.sha256(canary.read_bytes()).hexdigest(), canary.stat()
    assert before[0] == after[0]
    assert before[1].st_mtime_ns == after[1].st_mtime_ns
    assert Path("/etc/passwd").read_text().startswith("root:")


async def test_disk_fill_stops_at_the_file_size_limit(backend):
    source = """
chunk = b"\\0" * (1 << 20)
with open("big.bin", "wb") as f:
    for i in range(512):
        f.write(chunk)
print("wrote everything")
"""
    result = await execute(backend, "python", source)
    assert "wrote everything" not in result["run"]["stdout"]
    assert result["run"]["status"] in ("SG", "RE")
    assert result["run"]["signal"] == "SIGXFSZ" or "File" in result["run"]["stderr"]


async def test_many_small_files_hit_the_work_directory_quota(backend):
    source = """
import os
written = 0
try:
    while True:
        with open(f"f{written}", "wb") as f:
            f.write(b"x" * 1000)
        written += 1
except OSError as exc:
    print("stopped", exc.errno, written)
"""
    result = await execute(backend, "python", source, run_timeout=3000)
    assert result["run"]["stdout"].startswith("stopped")
    assert os.statvfs("/").f_bfree > 0


async def test_devices_are_minimal(backend):
    result = await execute(backend, "bash", "ls /dev")
    listed = set(result["run"]["stdout"].split())
    assert listed <= {
        "null",
        "zero",
        "full",
        "random",
        "urandom",
        "stdin",
        "stdout",
        "stderr",
        "fd",
        "shm",
    }
