"""The compiler runs inside the sandbox under its own limits: a hostile source
file can neither exhaust the host nor read it, and a failed compile runs
nothing."""

import hashlib
import os
import tempfile
from pathlib import Path

import pytest

from executor import config
from tests.conftest import execute
from tests.escapes.running import timed

pytestmark = pytest.mark.usefixtures("host_is_clean")

PROJECT = Path(__file__).resolve().parents[2]
MIB = 1 << 20
COMPILE_WALL_S = config.get().defaults["compile_wall_time_ms"] / 1000
MEMORY = config.get().defaults["memory_bytes"]
# Verdicts of a compiler that ran into one of its limits.
STOPPED = {"CE", "ML", "TO", "SG"}


def free_bytes(path: str) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


async def test_compile_time_bomb_fails_within_the_compile_limits(backend):
    source = "int big[1 << 28] = {1};\nint main(void) { return big[0]; }\n"
    scratch = tempfile.gettempdir()  # where the supervisor builds its roots
    before = free_bytes(scratch)

    result, elapsed = await timed(execute(backend, "c", source))

    compiled = result["compile"]
    assert compiled["status"] in STOPPED
    assert "run" not in result
    assert elapsed < COMPILE_WALL_S
    assert compiled["memory"] <= MEMORY + MIB
    # The 1 GiB object file never reached the host's disk.
    assert before - free_bytes(scratch) < 64 * MIB


async def test_compiler_reading_a_device_stops_within_its_limits(backend):
    result, elapsed = await timed(execute(backend, "c", '#include "/dev/zero"\n'))
    compiled = result["compile"]
    assert compiled["status"] in STOPPED
    assert "run" not in result
    assert elapsed < COMPILE_WALL_S + 1
    assert compiled["memory"] <= MEMORY + MIB


def host_secrets() -> list[str]:
    """Strings that only the host has: its user entries, the names of this
    process's environment variables, and the project's path."""
    users = [
        line.split(":")[0] + ":x:"
        for line in Path("/etc/passwd").read_text().splitlines()
        if line and not line.startswith(("runner:", "nobody:"))
    ]
    neutral = {"PATH", "HOME", "LANG", "PWD", "SHLVL", "_", "TERM", "LC_ALL"}
    names = [f"{name}=" for name in os.environ if name not in neutral]
    names = [n for n in names if not n.startswith("PYTHON")]
    return [*users, *names, f"{PROJECT}/"]


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "/proc/1/environ"]
)
async def test_compiler_diagnostics_show_nothing_of_the_host(backend, path):
    result = await execute(backend, "c", f'#include "{path}"\n')
    compiled = result["compile"]
    assert compiled["status"] == "CE"
    leaked = [s for s in host_secrets() if s in compiled["output"]]
    assert leaked == []


async def test_compile_error_skips_the_run_stage(backend):
    result = await execute(
        backend, "c++", "int main() { return not_declared_anywhere; }\n"
    )
    compiled = result["compile"]
    assert compiled["status"] == "CE"
    assert compiled["code"] not in (0, None)
    assert "not_declared_anywhere" in compiled["stderr"]
    assert "run" not in result
    assert "No such file" not in compiled["output"]


async def test_links_planted_between_compiled_runs_redirect_nothing(backend, tmp_path):
    canary = tmp_path / "canary"
    canary.write_text("original\n")
    before = hashlib.sha256(canary.read_bytes()).hexdigest(), canary.stat()
    # What the compile stage hands to the run stage are regular files only;
    # the program then plants links under every name a host might use.
    planter = rf"""
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {{
    DIR *work = opendir(".");
    struct stat st;
    for (struct dirent *e; (e = readdir(work));)
        if (e->d_name[0] != '.' && lstat(e->d_name, &st) == 0 && !S_ISREG(st.st_mode))
            printf("not regular: %s\n", e->d_name);
    const char *names[] = {{"main", "main.c", "stdout.txt", "run.sh", "a.out"}};
    for (int i = 0; i < 5; i++) {{ unlink(names[i]); symlink("{canary}", names[i]); }}
    symlink("/etc/passwd", "result.json");
    symlink("/", "outdir");
    puts("planted");
}}
"""
    planted = await execute(
        backend, "c", planter, files=[{"name": "stdout.txt", "content": "x"}]
    )
    assert planted["run"]["stdout"] == "planted\n"

    hello = '#include <stdio.h>\nint main(void) { puts("second ok"); }\n'
    second = await execute(backend, "c", hello)
    assert second["run"]["stdout"] == "second ok\n"

    after = hashlib.sha256(canary.read_bytes()).hexdigest(), canary.stat()
    assert before[0] == after[0]
    assert before[1].st_mtime_ns == after[1].st_mtime_ns
    responses = str(planted) + str(second)
    assert "original" not in responses
    assert "root:x:0:0" not in responses
