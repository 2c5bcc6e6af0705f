"""From a Piston-shaped request to a Job: every field checked, every error
naming the field, the value and what is allowed."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import posixpath
from collections.abc import Mapping
from typing import Any

from executor.config import Config
from executor.errors import JobError
from executor.job import File, Job, Stage, check_file_name, new_run_id
from executor.limits import Limits, resolve
from executor.runtimes import Registry, Runtime

MAX_FILES = 32
MAX_ARGS = 64
MAX_ARGS_BYTES = 64 * 1024
MIN_MEMORY_BYTES = 16 * 1024 * 1024
MAX_STDIN_BYTES = 1 << 20
MAX_SOURCE_BYTES = 1 << 20
ENCODINGS = ("utf8", "base64", "hex")

# request field -> (stage, limit, unit multiplier into the Limits field)
LIMIT_FIELDS = {
    "compile_timeout": ("compile", "wall_time_ms"),
    "run_timeout": ("run", "wall_time_ms"),
    "compile_cpu_time": ("compile", "cpu_time_ms"),
    "run_cpu_time": ("run", "cpu_time_ms"),
    "compile_memory_limit": ("compile", "memory_bytes"),
    "run_memory_limit": ("run", "memory_bytes"),
}


def _string(payload: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = payload.get(name, default)
    if not isinstance(value, str):
        raise JobError(f"{name} is required as a string, got {value!r}")
    return value


def _decode_content(index: int, entry: Mapping[str, Any]) -> bytes:
    content = entry.get("content")
    encoding = entry.get("encoding", "utf8")
    if not isinstance(content, str):
        raise JobError(f"files[{index}].content is required as a string")
    if encoding not in ENCODINGS:
        raise JobError(
            f"files[{index}].encoding {encoding!r} is not one of {ENCODINGS}"
        )
    try:
        if encoding == "base64":
            return base64.b64decode(content, validate=True)
        if encoding == "hex":
            return bytes.fromhex(content)
        return content.encode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise JobError(
            f"files[{index}].content is not valid {encoding}: {exc}"
        ) from None


def parse_files(payload: Mapping[str, Any], runtime: Runtime) -> list[File]:
    entries = payload.get("files")
    if not isinstance(entries, list) or not entries:
        raise JobError("files is required as a non-empty array of {name?, content}")
    if len(entries) > MAX_FILES:
        raise JobError(f"files has {len(entries)} entries; at most {MAX_FILES}")
    files, seen, total = [], set(), 0
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise JobError(f"files[{index}] must be an object with content")
        default = runtime.source_file if index == 0 else f"file{index}.code"
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise JobError(f"files[{index}].name must be a string, got {name!r}")
        name = name or default  # absent, null or "" take the default, as in Piston
        name = check_file_name(name)
        if name in seen:
            raise JobError(f"files[{index}].name {name!r} is given twice")
        seen.add(name)
        content = _decode_content(index, entry)
        total += len(content)
        files.append(File(name, content))
    if total > MAX_SOURCE_BYTES:
        raise JobError(f"files total {total} bytes; at most {MAX_SOURCE_BYTES}")
    _check_no_file_is_a_directory(seen)
    return files


def _check_no_file_is_a_directory(names: set[str]) -> None:
    for name in names:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in names:
                raise JobError(
                    f"file {parent!r} is also the directory of {name!r}; "
                    "rename one of them"
                )


def parse_args(payload: Mapping[str, Any]) -> list[str]:
    args = payload.get("args", [])
    if args is None:
        return []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise JobError("args must be an array of strings")
    if len(args) > MAX_ARGS:
        raise JobError(f"args has {len(args)} entries; at most {MAX_ARGS}")
    if any("\0" in a for a in args):
        raise JobError("args must not contain NUL characters")
    try:
        total = sum(len(a.encode("utf-8")) for a in args)
    except UnicodeEncodeError:
        raise JobError("args must be valid Unicode text") from None
    if total > MAX_ARGS_BYTES:
        raise JobError(f"args total {total} bytes; at most {MAX_ARGS_BYTES}")
    return args


def parse_stdin(payload: Mapping[str, Any]) -> bytes:
    stdin = payload.get("stdin", "")
    if stdin is None:
        return b""
    if not isinstance(stdin, str):
        raise JobError(f"stdin must be a string, got {type(stdin).__name__}")
    data = stdin.encode("utf-8", "surrogatepass")
    if len(data) > MAX_STDIN_BYTES:
        raise JobError(f"stdin is {len(data)} bytes; at most {MAX_STDIN_BYTES}")
    return data


def stage_limits(
    payload: Mapping[str, Any],
    config: Config,
    runtime: Runtime,
    output_bytes: int,
    interactive: bool = False,
) -> dict[str, Limits]:
    limits = {}
    for stage in ("compile", "run"):
        base = runtime.needs(
            config.stage_limits(stage, output_bytes, interactive), stage
        )
        chosen = {}
        for field, (field_stage, name) in LIMIT_FIELDS.items():
            if field_stage != stage:
                continue
            key = _config_key(stage, name, interactive, config)
            maximum = max(config.maxima[key], getattr(base, name))
            chosen[name] = resolve(
                field, payload.get(field), getattr(base, name), maximum
            )
        if chosen["memory_bytes"] < MIN_MEMORY_BYTES:
            raise JobError(
                f"{stage}_memory_limit {chosen['memory_bytes']} is below the "
                f"minimum {MIN_MEMORY_BYTES} bytes (16 MiB)"
            )
        limits[stage] = Limits(**{**base.to_wire(), **chosen})
    return limits


def _config_key(stage: str, name: str, interactive: bool, config: Config) -> str:
    if name == "wall_time_ms":
        return config.wall_key(stage, interactive)
    return name if name == "memory_bytes" else f"{stage}_{name}"


def _expand(
    command: list[str], files: list[File], runtime: Runtime, limits: Limits
) -> list[str]:
    """Fill in the placeholders of a runtime's command:

    {source}        the first file, as ./name
    {sources}       the first file and every other file matching the
                    runtime's source patterns, one argument each
    {class}         the first file's path without its extension, with dots
                    for slashes (a JVM class name: pkg/Main.java, pkg.Main)
    {stem}          the first file's path without its extension, as ./path
                    (what a compiler wrote beside it: src/main.ts, ./src/main)
    {memory_bytes}  the stage's memory limit, for runtimes that size their
                    heap themselves (a JVM's -XX:MaxRAM)
    """
    # "./" keeps a name like "-o" or "@file" from reading as an option.
    source = f"./{files[0].name}"
    sources = [source] + [
        f"./{f.name}" for f in files[1:]
        if any(fnmatch.fnmatchcase(f.name, p) for p in runtime.sources)
    ]  # fmt: skip
    values = {
        "{source}": source,
        "{class}": posixpath.splitext(files[0].name)[0].replace("/", "."),
        "{stem}": posixpath.splitext(source)[0],
        "{memory_bytes}": str(limits.memory_bytes),
    }
    argv: list[str] = []
    for part in command:
        if part == "{sources}":
            argv += sources
            continue
        for placeholder, value in values.items():
            part = part.replace(placeholder, value)
        argv.append(part)
    return argv


def build_job(
    payload: Mapping[str, Any],
    registry: Registry,
    config: Config,
    output_bytes: int,
    interactive: bool = False,
) -> tuple[Job, Runtime]:
    """Validate a request and resolve it against the installed runtimes."""
    if not isinstance(payload, Mapping):
        raise JobError("the request body must be a JSON object")
    runtime = registry.find(
        _string(payload, "language"), _string(payload, "version", "*")
    )
    files = parse_files(payload, runtime)
    args, stdin = parse_args(payload), parse_stdin(payload)
    limits = stage_limits(payload, config, runtime, output_bytes, interactive)
    stages = []
    if runtime.compile:
        stages.append(
            Stage(
                "compile",
                _expand(runtime.compile, files, runtime, limits["compile"]),
                limits["compile"],
            )
        )
    run_argv = _expand(runtime.run, files, runtime, limits["run"])
    stages.append(Stage("run", run_argv + args, limits["run"]))
    job = Job(
        new_run_id(),
        runtime.language,
        runtime.version or "",
        files,
        stages,
        runtime.environment(),
        runtime.readonly_paths,
        stdin,
        interactive,
        runtime.stdout_terminal,
        runtime.prestart,
    )
    return job, runtime
