"""Whatever a request carries (arguments, file names, stdin) reaches the
program as literal data or is refused before anything runs; whatever the
program prints comes back as JSON text, byte for byte where it can be."""

import json
import logging
import uuid
from pathlib import Path

import pytest
from django.test import AsyncClient

from executor.errors import JobError
from tests.conftest import execute

pytestmark = pytest.mark.usefixtures("host_is_clean")

SHELLISH_ARGS = [
    "line\nbreak",
    "x; id",
    "$(id)",
    "`id`",
    "--",
    "-o /etc/x",
    "| cat",
    "&& echo pwned",
    "'quoted' \"twice\"",
    "",
    " ",
]

PRINT_ARGS = {
    "bash": 'for a in "$@"; do printf \'<%s>\\n\' "$a"; done\n',
    "c": "#include <stdio.h>\n"
    "int main(int argc, char **argv) {\n"
    '    for (int i = 1; i < argc; i++) printf("<%s>\\n", argv[i]);\n'
    "}\n",
}


@pytest.mark.parametrize("language", PRINT_ARGS)
async def test_arguments_reach_the_program_literally(backend, language):
    result = await execute(backend, language, PRINT_ARGS[language], args=SHELLISH_ARGS)
    assert result["run"]["stdout"] == "".join(f"<{a}>\n" for a in SHELLISH_ARGS)
    assert result.get("compile", {}).get("status") is None


async def test_argument_with_a_nul_byte_is_refused(backend):
    with pytest.raises(JobError, match="NUL"):
        await execute(backend, "bash", "echo ran", args=["a\0b"])


@pytest.mark.parametrize(
    "template",
    [
        "../../etc/cron.d/{tag}",
        "/tmp/{tag}",
        "../../../../tmp/{tag}",
        "sub/../../{tag}",
        "{tag}\0.py",
        "{tag}" + "a" * 10_000,
    ],
)
async def test_hostile_file_names_are_refused_before_anything_runs(backend, template):
    tag = f"playground-escape-{uuid.uuid4().hex}"
    name = template.format(tag=tag)
    with pytest.raises(JobError):
        await execute(
            backend, "bash", "echo ran", files=[{"name": name, "content": "x"}]
        )
    assert not Path("/tmp", tag).exists()
    assert not Path("/etc/cron.d", tag).exists()


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [("abc", "3 b'abc'\n"), ("abc\n", "4 b'abc\\n'\n"), ("", "0 b''\n")],
)
async def test_stdin_arrives_byte_for_byte(backend, stdin, expected):
    source = "import sys\ndata = sys.stdin.buffer.read()\nprint(len(data), data)"
    result = await execute(backend, "python", source, stdin=stdin)
    assert result["run"]["stdout"] == expected


async def test_a_reader_needs_no_trailing_newline(backend):
    source = (
        "#include <stdio.h>\n"
        "int main(void) { int x;\n"
        '  if (scanf("%d", &x) == 1) printf("%d\\n", x * 2); else puts("none"); }\n'
    )
    result = await execute(backend, "c", source, stdin="21")
    assert result["run"]["stdout"] == "42\n"


async def post_run(language: str, source: str) -> tuple[bytes, dict]:
    response = await AsyncClient().post(
        "/api/v2/execute",
        data=json.dumps(
            {"language": language, "version": "*", "files": [{"content": source}]}
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.content, response.json()


async def test_terminal_escapes_come_back_as_inert_json_text(caplog):
    caplog.set_level(logging.INFO)
    escapes = (
        "\x1b[2J\x1b[H\x1b[31mfake$ \x1b]0;title\x07\x1b]52;c;cHduZWQ=\x07"
        "\x1b]8;;http://localhost.invalid/\x07link\x1b]8;;\x07"
    )
    body, result = await post_run("python", f"print({escapes!r})")
    assert result["run"]["stdout"] == escapes + "\n"
    assert b"\x1b" not in body and b"\x07" not in body  # escaped as \u001b
    logged = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert not [m for m in logged if "\x1b" in m]


async def test_invalid_utf8_is_replaced_not_dropped():
    raw = b"ok \xff\xfe\xc3\x28 \xed\xa0\x80\n"
    source = f"import sys; sys.stdout.buffer.write({raw!r})"
    _, result = await post_run("python", source)
    assert result["run"]["stdout"] == raw.decode("utf-8", "replace")
    assert result["run"]["status"] is None


async def test_nul_bytes_come_back_intact():
    source = (
        '#include <stdio.h>\nint main(void) { fwrite("a\\0b\\0c\\n", 1, 6, stdout); }\n'
    )
    _, result = await post_run("c", source)
    assert result["run"]["stdout"] == "a\0b\0c\n"
