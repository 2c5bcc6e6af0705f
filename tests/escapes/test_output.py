"""Output is capped in bytes, per stream, and the cap ends the run at once."""

import time

import pytest

from tests.conftest import execute

pytestmark = pytest.mark.usefixtures("host_is_clean")

CAP = 64 * 1024  # the HTTP default, which the `execute` helper uses


async def test_stdout_flood_is_cut_at_the_cap(backend):
    started = time.monotonic()
    result = await execute(backend, "python", 'while True: print("spam")')
    assert result["run"]["status"] == "OL"
    assert len(result["run"]["stdout"].encode()) == CAP
    assert time.monotonic() - started < 2


async def test_stderr_flood_while_stdout_idles(backend):
    source = "import sys\nwhile True: sys.stderr.write('e' * 4096)"
    result = await execute(backend, "python", source)
    assert result["run"]["status"] == "EL"
    assert len(result["run"]["stderr"]) == CAP


async def test_endless_line_without_newline_is_cut(backend):
    source = "#include <stdio.h>\nint main(void){ for(;;) putchar('A'); }"
    result = await execute(backend, "c", source)
    assert result["run"]["status"] == "OL"
    assert result["run"]["stdout"] == "A" * CAP


async def test_multibyte_characters_survive_chunking(backend):
    source = """
import sys
for _ in range(400):
    sys.stdout.write("\\u2500" * 50 + "\\n")
    sys.stdout.flush()
"""
    result = await execute(backend, "python", source)
    assert "\ufffd" not in result["run"]["stdout"]
    assert len(result["run"]["stdout"].encode()) == 400 * 151


async def test_invalid_utf8_becomes_replacement_characters(backend):
    source = "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')"
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "ok \ufffd\ufffd end\n"
