"""POST /api/v2/execute and GET /api/v2/runtimes, in process, with the real
sandbox running every program."""

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import AsyncClient

from executor import config

LANGUAGES = ["python", "javascript", "c", "c++", "bash"]
COMPILED = ["c", "c++"]

HELLO = {
    "python": 'print("Hello, world!")',
    "javascript": 'console.log("Hello, world!");',
    "c": '#include <stdio.h>\nint main(void) { puts("Hello, world!"); }\n',
    "c++": "#include <iostream>\n"
    'int main() { std::cout << "Hello, world!" << std::endl; }\n',
    "bash": 'echo "Hello, world!"',
}

# Binary-safe copies of stdin to stdout: no newline added or removed.
ECHO = {
    "python": "import sys\nsys.stdout.buffer.write(sys.stdin.buffer.read())\n",
    "javascript": 'process.stdout.write(require("fs").readFileSync(0));\n',
    "c": "#include <stdio.h>\n"
    "int main(void) { int c; while ((c = getchar()) != EOF) putchar(c); }\n",
    "c++": "#include <iostream>\n"
    "int main() { char c; while (std::cin.get(c)) std::cout.put(c); }\n",
    "bash": "cat\n",
}

EXIT_7 = {
    "python": "import sys\nsys.exit(7)\n",
    "javascript": "process.exit(7);\n",
    "c": "int main(void) { return 7; }\n",
    "c++": "int main() { return 7; }\n",
    "bash": "exit 7\n",
}

# language -> (program, expected status, expected signal)
RUNTIME_ERROR = {
    "python": ("print(1 // 0)\n", "RE", None),
    "javascript": ('throw new Error("boom");\n', "RE", None),
    "c": (
        "int main(void) { volatile int *p = 0; *p = 1; return 0; }\n",
        "SG",
        "SIGSEGV",
    ),
    "c++": (
        '#include <stdexcept>\nint main() { throw std::runtime_error("boom"); }\n',
        "SG",
        "SIGABRT",
    ),
    "bash": ("set -e\nfalse\necho unreachable\n", "RE", None),
}

PRINT_ARGS = {
    "python": 'import sys\nprint("\\n".join(sys.argv[1:]))\n',
    "javascript": 'console.log(process.argv.slice(2).join("\\n"));\n',
    "c": "#include <stdio.h>\n"
    "int main(int argc, char **argv) {\n"
    "    for (int i = 1; i < argc; i++) puts(argv[i]);\n"
    "}\n",
    "c++": "#include <iostream>\n"
    "int main(int argc, char **argv) {\n"
    "    for (int i = 1; i < argc; i++) std::cout << argv[i] << '\\n';\n"
    "}\n",
    "bash": 'for a in "$@"; do echo "$a"; done\n',
}

COMPILE_ERROR = "int main() { return not_declared_anywhere; }\n"


@pytest.fixture(scope="module")
def client() -> AsyncClient:
    return AsyncClient()


async def post(client: AsyncClient, payload: Any) -> Any:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return await client.post(
        "/api/v2/execute", data=body, content_type="application/json"
    )


async def run(
    client: AsyncClient, language: str, source: str, **fields: Any
) -> dict[str, Any]:
    payload = {
        "language": language,
        "version": "*",
        "files": [{"content": source}],
        **fields,
    }
    response = await post(client, payload)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_hello_world_prints_and_exits_zero(client, language):
    result = await run(client, language, HELLO[language])
    assert result["language"] == language
    assert result["run"]["stdout"] == "Hello, world!\n"
    assert result["run"]["code"] == 0
    assert result["run"]["status"] is None


@pytest.mark.parametrize("stdin", ["abc", "", "a\nb\n"])
@pytest.mark.parametrize("language", LANGUAGES)
async def test_stdin_is_echoed_byte_for_byte(client, language, stdin):
    result = await run(client, language, ECHO[language], stdin=stdin)
    assert result["run"]["stdout"] == stdin
    assert result["run"]["status"] is None


@pytest.mark.parametrize("language", LANGUAGES)
async def test_exit_code_7_is_reported_as_runtime_error(client, language):
    result = await run(client, language, EXIT_7[language])
    assert result["run"]["code"] == 7
    assert result["run"]["signal"] is None
    assert result["run"]["status"] == "RE"
    assert result["run"]["message"]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_runtime_error_has_a_status(client, language):
    source, status, signal = RUNTIME_ERROR[language]
    result = await run(client, language, source)
    assert result["run"]["status"] == status
    assert result["run"]["signal"] == signal
    assert result["run"]["message"]
    assert "unreachable" not in result["run"]["stdout"]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_args_are_passed_in_order_without_splitting(client, language):
    result = await run(
        client, language, PRINT_ARGS[language], args=["one", "two words"]
    )
    assert result["run"]["stdout"] == "one\ntwo words\n"


@pytest.mark.parametrize("language", COMPILED)
async def test_compile_error_is_ce_and_nothing_runs(client, language):
    result = await run(client, language, COMPILE_ERROR)
    assert result["compile"]["status"] == "CE"
    assert "not_declared_anywhere" in result["compile"]["stderr"]
    # As in Piston, `run` repeats the compile result: nothing else ran.
    assert result["run"] == result["compile"]
    assert "No such file" not in json.dumps(result)


@pytest.mark.parametrize("language", COMPILED)
async def test_compiled_program_reports_both_stages(client, language):
    result = await run(client, language, HELLO[language])
    assert result["compile"]["status"] is None
    assert result["run"]["stdout"] == "Hello, world!\n"


async def test_runtimes_lists_every_language_with_version_and_aliases(client):
    response = await client.get("/api/v2/runtimes")
    assert response.status_code == 200
    listed = {entry["language"]: entry for entry in response.json()}
    assert set(LANGUAGES) <= set(listed)
    for language in LANGUAGES:
        assert isinstance(listed[language]["version"], str)
        assert listed[language]["version"]
        assert isinstance(listed[language]["aliases"], list)


async def test_unknown_language_is_400_naming_it(client):
    response = await post(
        client, {"language": "cobol-9000", "version": "*", "files": [{"content": "x"}]}
    )
    assert response.status_code == 400
    assert "cobol-9000" in response.json()["message"]


async def test_malformed_json_is_400_json_without_traceback(client):
    response = await post(client, '{"language": "python", "files": [')
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    message = response.json()["message"]
    assert "JSON" in message
    assert "Traceback" not in message


async def test_wrong_method_is_405(client):
    response = await client.get("/api/v2/execute")
    assert response.status_code == 405


async def test_wrong_method_answers_with_a_json_message(client):
    # The protocol promises {"message"} on every 4xx, so API clients can show it.
    response = await client.get("/api/v2/execute")
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]


async def test_unknown_api_route_is_a_json_404(client):
    response = await client.get("/api/v2/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "/api/v2/nothing-here" in response.json()["message"]


async def test_run_timeout_above_the_maximum_is_400_naming_the_field(client):
    maximum = config.get().maxima["run_wall_time_ms"]
    response = await post(
        client,
        {
            "language": "python",
            "version": "*",
            "files": [{"content": "pass"}],
            "run_timeout": maximum + 1,
        },
    )
    assert response.status_code == 400
    assert "run_timeout" in response.json()["message"]
    assert str(maximum) in response.json()["message"]


async def test_run_timeout_as_a_string_is_400(client):
    response = await post(
        client,
        {
            "language": "python",
            "version": "*",
            "files": [{"content": "pass"}],
            "run_timeout": "3000",
        },
    )
    assert response.status_code == 400
    assert "run_timeout" in response.json()["message"]


@pytest.mark.parametrize("timeout", [-1, 0])
async def test_minus_one_and_zero_timeout_mean_the_default(client, timeout):
    result = await run(client, "python", HELLO["python"], run_timeout=timeout)
    assert result["run"]["stdout"] == "Hello, world!\n"


def files_named_evil() -> list[Path]:
    # os.walk skips directories that vanish mid-walk: other runs come and go.
    return [
        Path(top, "evil.txt")
        for top, _, names in os.walk("/tmp")
        if "evil.txt" in names
    ]


def holds(path: Path, marker: str) -> bool:
    try:
        return marker in path.read_text(errors="replace")
    except OSError:
        return False


async def test_file_name_leaving_the_work_directory_is_400_and_not_written(client):
    marker = uuid.uuid4().hex
    before = set(files_named_evil())
    source = f"open('../evil.txt', 'w').write('{marker}')"
    response = await post(
        client,
        {
            "language": "python",
            "version": "*",
            "files": [{"content": source}, {"name": "../evil.txt", "content": marker}],
        },
    )
    assert response.status_code == 400
    assert "../evil.txt" in response.json()["message"]
    written = [p for p in set(files_named_evil()) - before if holds(p, marker)]
    assert written == []


async def test_two_files_with_the_same_name_are_400(client):
    response = await post(
        client,
        {
            "language": "python",
            "version": "*",
            "files": [
                {"name": "main.py", "content": "pass"},
                {"name": "main.py", "content": "x"},
            ],
        },
    )
    assert response.status_code == 400
    assert "main.py" in response.json()["message"]


async def test_second_file_is_readable_at_its_relative_path(client):
    source = 'print(open("sub/data.txt").read(), end="")'
    result = await run(
        client,
        "python",
        source,
        files=[
            {"content": source},
            {"name": "sub/data.txt", "content": "payload 42\n"},
        ],
    )
    assert result["run"]["stdout"] == "payload 42\n"
    assert result["run"]["status"] is None
