"""The output cap counts bytes, holds for every shape of flood, cuts exactly
at the cap, says so, and keeps the server's memory flat."""

import os

import pytest

from tests.conftest import execute
from tests.escapes.running import rss_bytes, timed

pytestmark = pytest.mark.usefixtures("host_is_clean")

CAP = 64 * 1024  # the HTTP default, which `execute` uses
MIB = 1 << 20

FLOODS = {
    "c-stderr-endless-line": (
        "c",
        "#include <stdio.h>\nint main(void) { for (;;) fputc('B', stderr); }\n",
        "stderr",
        "B",
    ),
    "c-one-huge-write": (
        "c",
        "#include <string.h>\n#include <unistd.h>\n"
        "static char buf[8 << 20];\n"
        "int main(void) { memset(buf, 'W', sizeof buf);\n"
        "  for (;;) write(1, buf, sizeof buf); }\n",
        "stdout",
        "W",
    ),
    "python-newlines-only": (
        "python",
        "while True: print('\\n' * 1_000_000)",
        "stdout",
        "\n",
    ),
    # process.stdout.write would queue in Node's memory once the pipe is
    # full, since a loop that never yields never flushes it: that program is
    # a memory bomb (ML) with one pipe's worth of output, not a flood.
    "javascript-sync-writes": (
        "javascript",
        'const fs = require("fs");\nfor (;;) fs.writeSync(1, "j".repeat(100000));',
        "stdout",
        "j",
    ),
    "bash-printf-loop": ("bash", "while :; do printf A; done", "stdout", "A"),
}


@pytest.mark.parametrize("flood", FLOODS)
async def test_every_kind_of_flood_is_cut_exactly_at_the_cap(backend, flood):
    language, source, stream, char = FLOODS[flood]
    result, elapsed = await timed(execute(backend, language, source))
    run = result["run"]
    assert run["status"] == ("OL" if stream == "stdout" else "EL")
    assert run[stream] == char * CAP
    assert elapsed < 2.5  # stopped at the cap, not at the time limit


async def test_long_line_then_many_newlines_is_cut_at_the_cap(backend):
    source = "print('x' * 10_000_000); print('\\n' * 1_000_000)"
    result, elapsed = await timed(execute(backend, "python", source))
    assert result["run"]["status"] == "OL"
    assert result["run"]["stdout"] == "x" * CAP
    assert elapsed < 1.5


async def test_runaway_output_keeps_server_memory_flat(backend):
    await execute(backend, "bash", 'yes "spam spam spam spam"')
    supervisor = backend.supervisor_pids()[0]
    before = rss_bytes(os.getpid()), rss_bytes(supervisor)
    for _ in range(20):
        result, elapsed = await timed(
            execute(backend, "bash", 'yes "spam spam spam spam"')
        )
        assert result["run"]["status"] == "OL"
        assert len(result["run"]["stdout"]) == CAP
        assert elapsed < 1
        del result
    after = rss_bytes(os.getpid()), rss_bytes(supervisor)
    assert after[0] - before[0] < 8 * MIB, "the web process grew"
    assert after[1] - before[1] < 4 * MIB, "the supervisor grew"


@pytest.mark.parametrize("size", [1023, 1024, 1025, 5000])
async def test_one_large_write_cannot_pass_the_cap(backend, size):
    source = "import sys\nsys.stdout.write('h' * int(sys.argv[1]))"
    result = await execute(
        backend, "python", source, args=[str(size)], output_bytes=1024
    )
    run = result["run"]
    assert run["status"] == (None if size <= 1024 else "OL")
    assert run["stdout"] == "h" * min(size, 1024)


async def test_the_cap_counts_bytes_not_characters(backend):
    source = "import sys\nsys.stdout.write('\\u00e9' * 1000)"  # 2000 bytes
    result = await execute(backend, "python", source, output_bytes=1024)
    assert result["run"]["status"] == "OL"
    assert result["run"]["stdout"] == "\u00e9" * 512


@pytest.mark.parametrize("cap", [1024, 4096])
async def test_hitting_the_cap_is_reported_as_such(backend, cap):
    source = "for i in range(1, 3001):\n    print(i)"
    result = await execute(backend, "python", source, output_bytes=cap)
    run = result["run"]
    full = "".join(f"{i}\n" for i in range(1, 3001))
    assert run["status"] == "OL"
    assert run["stdout"] == full[:cap]
    assert f"{cap // 1024} KiB" in run["message"]
    assert "stdout" in run["message"]


async def test_multibyte_text_survives_a_third_of_a_megabyte(backend):
    source = """
import sys
for _ in range(2000):
    sys.stdout.write("\\u2500" * 50 + "\\n")
    sys.stdout.flush()
"""
    result = await execute(backend, "python", source, output_bytes=MIB)
    stdout = result["run"]["stdout"]
    assert result["run"]["status"] is None
    assert len(stdout.encode()) == 302_000
    assert stdout.count("\n") == 2000
    assert "\ufffd" not in stdout
