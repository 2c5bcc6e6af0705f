"""The same tests for every runtime file in runtimes/: each language proves
that it runs, reads, writes, fails and compiles as the playground promises.

A runtime file's `[conformance]` table gives the programs:

- `hello` (the file's own hello program) prints exactly "Hello, world!".
- `main` prints each argument as `arg=VALUE` on its own line, then the
  second file `data.txt` as it is, then the line `héllo ✓ あ 😀`, then
  `loop N X` after a busy loop of N >= 10000 steps of x = (75x + 74) mod
  65537 from x = 1, then copies its stdin to stdout byte for byte, and
  exits with code 3. One run serves six tests, so slow compilers compile
  once for all of them.
- `crash` dies of a runtime error (an exception, a division by zero...).
- `compile_error` (compiled languages) does not compile.
- `starter` (the file's starter program) asks "What is your name? ",
  reads a line and greets: it is run interactively over the websocket.

Every declared runtime must be installed (`make runtimes`): one that is not
fails here, with the reason its version detection gave.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

import pytest

from executor import config
from executor.runtimes import Registry, Runtime
from playground.registry import registry
from tests.api.test_connect import connected, init, stdin
from tests.conftest import execute

DECLARED = Registry.load(config.get().runtimes_dir, detect=False).all
ARGS = ["one", "two words", "ü", ""]
DATA = "from the second file\nline two\n"
UTF8 = "héllo ✓ あ 😀"
STDIN = "first line\n\nthird ✓ line\n  spaced  \tout\nno newline at the end"
PROMPT = "What is your name? "
MIN_STEPS = 10_000

# One run of each (language, program), shared by the tests that read it.
_runs: dict[tuple[str, str], dict[str, Any]] = {}


def installed(declared: Runtime) -> Runtime:
    found = [rt for rt in registry().all if rt.path == declared.path]
    runtime = found[0]
    if not runtime.available:
        pytest.fail(f"{runtime.path.name}: {runtime.state}; run `make runtimes`")
    return runtime


async def run_once(backend: Any, runtime: Runtime, program: str) -> dict[str, Any]:
    key = (runtime.language, program)
    if key not in _runs:
        if program == "hello":
            _runs[key] = await execute(backend, runtime.language, runtime.hello)
        elif program == "main":
            _runs[key] = await execute(
                backend,
                runtime.language,
                runtime.conformance["main"],
                args=ARGS,
                stdin=STDIN,
                # base64, so every runtime also proves binary files arrive
                # byte for byte
                files=[
                    {
                        "name": "data.txt",
                        "encoding": "base64",
                        "content": base64.b64encode(DATA.encode()).decode(),
                    }
                ],
            )
        else:
            source = runtime.conformance[program]
            _runs[key] = await execute(backend, runtime.language, source)
    return _runs[key]


def compiled_ok(result: dict[str, Any]) -> None:
    if "compile" in result:
        compile_ = result["compile"]
        assert compile_["status"] is None, compile_["stderr"] + compile_["stdout"]


@functools.cache
def expected_loop(steps: int) -> int:
    x = 1
    for _ in range(steps):
        x = (75 * x + 74) % 65537
    return x


def main_lines(result: dict[str, Any]) -> list[str]:
    compiled_ok(result)
    return result["run"]["stdout"].split("\n")


each = pytest.mark.parametrize(
    "declared", DECLARED, ids=[rt.path.stem for rt in DECLARED]
)


@each
async def test_hello_prints_hello_world(backend, declared):
    runtime = installed(declared)
    result = await run_once(backend, runtime, "hello")
    compiled_ok(result)
    assert result["run"]["stdout"] == "Hello, world!\n", result["run"]["stderr"]
    assert result["run"]["status"] is None


@each
async def test_arguments_arrive_as_given(backend, declared):
    result = await run_once(backend, installed(declared), "main")
    lines = main_lines(result)
    assert lines[: len(ARGS)] == [f"arg={a}" for a in ARGS], result["run"]["stderr"]


@each
async def test_a_second_file_is_readable(backend, declared):
    result = await run_once(backend, installed(declared), "main")
    after_args = "\n".join(main_lines(result)[len(ARGS) :])
    assert after_args.startswith(DATA), result["run"]["stderr"]


@each
async def test_utf8_is_printed_exactly(backend, declared):
    result = await run_once(backend, installed(declared), "main")
    assert main_lines(result)[len(ARGS) + DATA.count("\n")] == UTF8


@each
async def test_a_busy_loop_reports_cpu_time(backend, declared):
    result = await run_once(backend, installed(declared), "main")
    loop = main_lines(result)[len(ARGS) + DATA.count("\n") + 1].split()
    assert loop[0] == "loop", loop
    steps, value = int(loop[1]), int(loop[2])
    assert steps >= MIN_STEPS
    assert value == expected_loop(steps)
    assert result["run"]["cpu_time"] > 0


@each
async def test_stdin_is_echoed_byte_for_byte(backend, declared):
    result = await run_once(backend, installed(declared), "main")
    compiled_ok(result)
    lines_before = len(ARGS) + DATA.count("\n") + 2
    echoed = "\n".join(result["run"]["stdout"].split("\n")[lines_before:])
    assert echoed == STDIN, result["run"]["stderr"]


@each
async def test_exit_code_3_is_reported(backend, declared):
    result = await run_once(backend, installed(declared), "main")
    compiled_ok(result)
    assert result["run"]["code"] == 3, result["run"]["stderr"]
    assert result["run"]["status"] == "RE"


@each
async def test_a_runtime_error_is_reported_with_its_message(backend, declared):
    result = await run_once(backend, installed(declared), "crash")
    compiled_ok(result)
    run = result["run"]
    assert run["status"] in ("RE", "SG"), run
    assert run["stderr"].strip() or run["message"], run


@each
async def test_a_compile_error_is_ce_and_nothing_runs(backend, declared):
    runtime = installed(declared)
    if runtime.compile is None:
        assert "compile_error" not in runtime.conformance
        return  # interpreted: errors surface in the run stage (the crash test)
    result = await run_once(backend, runtime, "compile_error")
    compile_ = result["compile"]
    assert compile_["status"] == "CE", compile_
    assert (compile_["stderr"] + compile_["stdout"]).strip()
    # The HTTP view copies the compile result into `run` for old clients
    # (tests/api/test_execute.py); the engine itself ran no run stage.
    assert "run" not in result


@each
async def test_the_starter_prompts_then_reads_over_the_websocket(declared):
    runtime = installed(declared)
    async with connected() as session:
        await session.send(init(runtime.language, runtime.starter))
        await session.until_text("stdout", PROMPT, timeout=60)
        assert "Ada" not in session.text("stdout")
        await session.send(stdin("Ada\n"))
        await session.send({"type": "close_stdin"})
        assert await session.until_closed(timeout=60) == 4999
    assert session.text("stdout") == PROMPT + "Hello, Ada!\n", session.text("stderr")
