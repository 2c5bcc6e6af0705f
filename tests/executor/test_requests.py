"""Requests are checked before anything runs: file names cannot leave the work
directory, limits stay within their maxima, file contents decode as declared."""

from dataclasses import replace
from pathlib import Path

import pytest

from executor import config
from executor.errors import FileNameError, JobError, LimitError, UnknownRuntime
from executor.job import check_file_name
from executor.limits import resolve
from executor.requests import build_job, parse_files
from executor.runtimes import Registry, Runtime

# Fixed settings: the host's PLAYGROUND_* variables must not move the limits
# these tests expect.
SETTINGS = config.from_environ({})
OUTPUT_BYTES = 64 * 1024
RUN_WALL_DEFAULT = SETTINGS.defaults["run_wall_time_ms"]
RUN_WALL_MAXIMUM = SETTINGS.maxima["run_wall_time_ms"]

PYTHON = Runtime(
    language="python",
    version="3.11.2",
    aliases=["py"],
    source_file="main.py",
    run=["/usr/bin/python3", "{source}"],
    hello='print("hi")',
    path=Path("python.toml"),
)
C = Runtime(
    language="c",
    version="12.2.0",
    aliases=["gcc"],
    source_file="main.c",
    run=["./main"],
    hello="",
    path=Path("c.toml"),
    compile=["/usr/bin/gcc", "-o", "main", "{source}"],
)
REGISTRY = Registry([PYTHON, C])


def request(**fields: object) -> dict[str, object]:
    return {
        "language": "python",
        "version": "*",
        "files": [{"content": 'print("hi")'}],
        **fields,
    }


def build(payload: dict[str, object]):
    job, _ = build_job(payload, REGISTRY, SETTINGS, OUTPUT_BYTES)
    return job


def run_limits(payload: dict[str, object]):
    return next(s for s in build(payload).stages if s.name == "run").limits


BAD_NAMES = [
    "../evil.txt",
    "../../../../tmp/evil.txt",
    "/etc/evil.txt",
    "sub/../../evil.txt",
    "",
    ".",
    "a\u0000b",
    "x" * 300,
    "line\nbreak.txt",
    "tab\there",
    "escape\u001b[31m.txt",
    "delete\u007f",
    "c1\u0085control",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_file_name_that_could_escape_is_refused_with_a_reason(name):
    with pytest.raises(FileNameError) as refused:
        check_file_name(name)
    assert str(refused.value).strip()


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if n])
def test_request_with_escaping_file_name_is_refused(name):
    files = [{"content": "x"}, {"name": name, "content": "x"}]
    with pytest.raises(JobError, match="files\\[1\\]|file name"):
        build(request(files=files))


def test_empty_name_in_a_request_means_the_default_name():
    # Piston's `name` is optional, and clients send "" for "not given".
    job = build(request(files=[{"name": "", "content": "x"}]))
    assert job.files[0].name == "main.py"


def test_file_in_a_subdirectory_is_accepted():
    assert check_file_name("sub/data.txt") == "sub/data.txt"
    job = build(
        request(files=[{"content": "x"}, {"name": "sub/data.txt", "content": "data"}])
    )
    assert [f.name for f in job.files] == ["main.py", "sub/data.txt"]


def test_two_files_with_the_same_name_are_refused():
    files = [{"name": "main.py", "content": "a"}, {"name": "main.py", "content": "b"}]
    with pytest.raises(JobError, match="main.py"):
        build(request(files=files))


@pytest.mark.parametrize("given", [None, -1, 0])
def test_absent_or_minus_one_or_zero_limit_means_the_default(given):
    payload = request() if given is None else request(run_timeout=given)
    assert run_limits(payload).wall_time_ms == RUN_WALL_DEFAULT


def test_limit_within_the_maximum_is_used():
    assert run_limits(request(run_timeout=1234)).wall_time_ms == 1234


def test_limit_above_the_maximum_names_the_field_and_the_maximum():
    with pytest.raises(LimitError) as refused:
        build(request(run_timeout=RUN_WALL_MAXIMUM + 1))
    assert "run_timeout" in str(refused.value)
    assert str(RUN_WALL_MAXIMUM) in str(refused.value)


def test_raised_maximum_allows_a_longer_limit():
    settings = config.from_environ({"PLAYGROUND_MAX_RUN_WALL_TIME_MS": "10000"})
    job, _ = build_job(request(run_timeout=10000), REGISTRY, settings, OUTPUT_BYTES)
    assert job.stages[-1].limits.wall_time_ms == 10000


@pytest.mark.parametrize("given", [True, False, "3000", 1.5, 3000.5, [3000], {}])
def test_limit_of_the_wrong_type_is_refused(given):
    with pytest.raises(LimitError, match="run_memory_limit"):
        build(request(run_memory_limit=given))


def test_negative_limit_other_than_minus_one_is_refused():
    with pytest.raises(LimitError, match="compile_timeout"):
        build({**request(), "language": "c", "compile_timeout": -5})


def test_whole_number_decimals_are_accepted_as_piston_does():
    assert resolve("run_timeout", 2000.0, 3000, 3000) == 2000
    with pytest.raises(LimitError, match="exceeds the maximum"):
        resolve("run_timeout", 1e12, 3000, 3000)


def test_resolve_keeps_the_field_name_in_every_refusal():
    for bad in ("1", 2.5, True, -2, 10**9):
        with pytest.raises(LimitError, match="run_cpu_time"):
            resolve("run_cpu_time", bad, 3000, 5000)


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("utf8", "h\u00e9llo \U0001f600"),
        ("base64", "aMOpbGxvIPCfmIA="),
        ("hex", "68c3a96c6c6f20f09f9880"),
    ],
)
def test_file_content_is_decoded_as_declared(encoding, content):
    entry = {"content": content, "encoding": encoding}
    files = parse_files({"files": [entry]}, PYTHON)
    assert files[0].content == "h\u00e9llo \U0001f600".encode()


def test_binary_content_survives_base64():
    files = parse_files({"files": [{"content": "AP8Q", "encoding": "base64"}]}, PYTHON)
    assert files[0].content == b"\x00\xff\x10"


def test_utf8_is_the_default_encoding():
    files = parse_files({"files": [{"content": "abc"}]}, PYTHON)
    assert files[0].content == b"abc"


def test_unknown_encoding_is_refused_by_name():
    entry = {"content": "abc", "encoding": "rot13"}
    with pytest.raises(JobError, match="rot13"):
        parse_files({"files": [entry]}, PYTHON)


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("base64", "not base64!"),
        ("hex", "zz"),
    ],
)
def test_content_that_does_not_decode_is_refused(encoding, content):
    entry = {"content": content, "encoding": encoding}
    with pytest.raises(JobError, match=encoding):
        parse_files({"files": [entry]}, PYTHON)


def test_unknown_language_is_refused_by_name():
    with pytest.raises(UnknownRuntime, match="cobol"):
        build(request(language="cobol"))


def test_stdin_and_args_are_passed_unchanged():
    job = build(request(stdin="a\nb", args=["one", "two words"]))
    assert job.stdin == b"a\nb"
    assert job.stages[-1].argv[-2:] == ["one", "two words"]


def test_compiled_language_gets_a_compile_stage_first():
    job = build({**request(), "language": "gcc"})
    assert [s.name for s in job.stages] == ["compile", "run"]
    assert job.stages[0].argv[-1] == "./main.c"


JAVA = Runtime(
    language="java",
    version="17.0.15",
    aliases=[],
    source_file="Main.java",
    run=["java", "-XX:MaxRAM={memory_bytes}", "-cp", ".", "{class}"],
    hello="",
    path=Path("java.toml"),
    compile=["javac", "-d", ".", "{sources}"],
    sources=["*.java"],
)


def test_class_and_memory_placeholders_follow_the_request():
    payload = {
        "language": "java",
        "files": [
            {"name": "app/Shop.java", "content": "x"},
            {"name": "app/Item.java", "content": "y"},
            {"name": "notes.txt", "content": "z"},
        ],
        "run_memory_limit": 128 * 1024 * 1024,
    }
    job, _ = build_job(payload, Registry([JAVA]), SETTINGS, OUTPUT_BYTES)
    compile_, run = job.stages
    assert compile_.argv == ["javac", "-d", ".", "./app/Shop.java", "./app/Item.java"]
    assert run.argv == ["java", f"-XX:MaxRAM={128 * 1024 * 1024}", "-cp", ".",
                        "app.Shop"]  # fmt: skip


def test_the_stem_placeholder_is_the_first_files_path_without_extension():
    node = replace(JAVA, language="ts", run=["node", "{stem}.js"], compile=None)
    payload = {"language": "ts", "files": [{"name": "src/app.v2.ts", "content": ""}]}
    job, _ = build_job(payload, Registry([node]), SETTINGS, OUTPUT_BYTES)
    assert job.stages[0].argv == ["node", "./src/app.v2.js"]
