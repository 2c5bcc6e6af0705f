"""The runtime registry: one declarative TOML file per language in runtimes/.

A file declares the language's names, how to find its version, its source
file, compile and run commands, environment, extra read-only paths, limit
overrides, the Debian packages that provide it, and a hello program. Files
are validated when loaded; an error names the file and the field. Versions
are detected once, by running the declared command on the host (every file's
command at once, so start-up waits for the slowest toolchain, not the sum).

A file may also carry a `[conformance]` table: the small programs the
conformance suite (tests/conformance/) runs for that language.
"""

from __future__ import annotations

import logging
import re

# subprocess runs the version commands of runtime files, never a shell.
import subprocess  # nosec B404
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from executor.errors import ConfigError, FileNameError, UnknownRuntime
from executor.job import check_file_name
from executor.limits import Limits

log = logging.getLogger(__name__)

BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/work",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
}
LIMIT_FIELDS = {
    "memory_bytes",
    "processes",
    "open_files",
    "file_size_bytes",
    "wall_time_ms",
    "cpu_time_ms",
}
# The programs a runtime file gives the conformance suite; `compile_error` is
# required only where the runtime has a compile stage.
CONFORMANCE_FIELDS = {"main", "crash", "compile_error"}
CONFORMANCE_REQUIRED = ("main", "crash")
VERSION_TIMEOUT_SECONDS = 30
_FIELDS: dict[str, type] = {
    "language": str,
    "aliases": list,
    "editor_mode": str,
    "packages": list,
    "runtime": str,
    "source_file": str,
    "version": dict,
    "compile": list,
    "run": list,
    "env": dict,
    "readonly_paths": list,
    "limits": dict,
    "hello": str,
    "starter": str,
    "stdout_terminal": bool,
    "prestart": bool,
    "compile_limits": dict,
    "sources": list,
    "conformance": dict,
    "npm": list,
}
_REQUIRED = ("language", "source_file", "version", "run", "hello")
_STRING_LISTS = (
    "aliases",
    "packages",
    "npm",
    "run",
    "compile",
    "readonly_paths",
    "sources",
)


@dataclass(frozen=True)
class Runtime:
    """A language as declared in its file, with its detected version."""

    language: str
    version: str | None
    aliases: list[str]
    source_file: str
    run: list[str]
    hello: str
    path: Path
    compile: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    readonly_paths: list[str] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    editor_mode: str = "text"
    runtime: str | None = None
    starter: str = ""
    stdout_terminal: bool = True
    prestart: bool = False
    compile_limits: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    conformance: dict[str, str] = field(default_factory=dict)
    npm: list[str] = field(default_factory=list)  # where Debian has no package
    problem: str | None = None  # why the runtime is unavailable

    @property
    def available(self) -> bool:
        return self.version is not None

    @property
    def state(self) -> str:
        if self.available:
            return "available"
        return f"unavailable: {self.problem or 'not detected'}"

    def names(self) -> set[str]:
        return {self.language, *self.aliases}

    def needs(self, limits: Limits, stage: str) -> Limits:
        """`limits` raised to what this runtime needs for `stage` (a JVM needs
        more threads and memory than C)."""
        raised = limits.raised(**self.limits)
        return raised.raised(**self.compile_limits) if stage == "compile" else raised

    def environment(self) -> dict[str, str]:
        return {**BASE_ENV, **self.env}


def _fail(path: Path, message: str) -> ConfigError:
    return ConfigError(f"{path.name}: {message}")


def _check_fields(path: Path, data: dict[str, Any]) -> None:
    for name in data:
        if name not in _FIELDS:
            raise _fail(path, f"unknown field {name!r}; known: {sorted(_FIELDS)}")
        if not isinstance(data[name], _FIELDS[name]):
            raise _fail(path, f"field {name!r} must be a {_FIELDS[name].__name__}")
    for name in _REQUIRED:
        if name not in data:
            raise _fail(path, f"missing required field {name!r}")
    for name in _STRING_LISTS:
        if not all(isinstance(item, str) for item in data.get(name, [])):
            raise _fail(path, f"field {name!r} must be a list of strings")
    for name in ("run", "compile"):
        if name in data and not data[name]:
            raise _fail(path, f"field {name!r} must name a program to run")
    _check_limits(path, data)
    _check_env(path, data.get("env", {}))
    _check_source_file(path, data["source_file"])
    _check_version(path, data["version"])
    _check_conformance(path, data)


def _check_limits(path: Path, data: dict[str, Any]) -> None:
    overrides = [*data.get("limits", {}).items(),
                 *data.get("compile_limits", {}).items()]  # fmt: skip
    for name, value in overrides:
        # bool is an int to Python; `true` is no number of bytes.
        number = isinstance(value, int) and not isinstance(value, bool)
        if name not in LIMIT_FIELDS or not number or value <= 0:
            raise _fail(
                path,
                f"limits.{name} must be one of {sorted(LIMIT_FIELDS)} "
                "with a positive whole number",
            )


def _check_env(path: Path, env: dict[str, Any]) -> None:
    for name, value in env.items():
        if not isinstance(value, str):
            raise _fail(path, f"env.{name} must be a string, got {value!r}")


def _check_source_file(path: Path, name: str) -> None:
    try:
        check_file_name(name)
    except FileNameError as exc:
        raise _fail(path, f"field 'source_file': {exc}") from None


def _check_version(path: Path, version: dict[str, Any]) -> None:
    for name in version:
        if name not in ("command", "pattern"):
            raise _fail(path, f"unknown field version.{name}; known: command, pattern")
    command = version.get("command")
    if not isinstance(command, list) or not command:
        raise _fail(path, "version.command must be a non-empty list of strings")
    if not all(isinstance(item, str) for item in command):
        raise _fail(path, "version.command must be a non-empty list of strings")
    pattern = version.get("pattern")
    if not isinstance(pattern, str):
        raise _fail(path, "version.pattern must be a string (a regular expression)")
    try:
        groups = re.compile(pattern).groups
    except re.error as exc:
        message = f"version.pattern is not a regular expression: {exc}"
        raise _fail(path, message) from None
    if groups < 1:
        raise _fail(path, "version.pattern needs a group, (...), around the version")


def _check_conformance(path: Path, data: dict[str, Any]) -> None:
    programs = data.get("conformance")
    if programs is None:
        return
    for name, value in programs.items():
        if name not in CONFORMANCE_FIELDS:
            raise _fail(
                path,
                f"unknown field conformance.{name}; known: "
                f"{sorted(CONFORMANCE_FIELDS)}",
            )
        if not isinstance(value, str):
            raise _fail(path, f"field conformance.{name} must be a str")
    needed = [*CONFORMANCE_REQUIRED, *(["compile_error"] if "compile" in data else [])]
    for name in needed:
        if name not in programs:
            raise _fail(path, f"missing required field conformance.{name}")


def detect_version(path: Path, spec: dict[str, Any]) -> tuple[str | None, str]:
    """Run the version command: (version, "") or (None, why not)."""
    command = spec["command"]
    try:
        # The version command comes from a runtime file, never from a request.
        done = subprocess.run(  # nosec B603
            command,
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        why = f"{command[0]} is not installed"
        log.info("runtime %s unavailable: %s", path.name, why)
        return None, why
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("runtime %s unavailable: %s", path.name, exc)
        return None, f"{command[0]} did not run: {exc}"
    match = re.search(spec["pattern"], done.stdout + done.stderr)
    if match is None:
        log.warning("runtime %s: version pattern did not match", path.name)
        return None, f"the output of {' '.join(command)} has no version in it"
    return match.group(1), ""


def load_file(path: Path, detect: bool = True) -> Runtime:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from exc
    _check_fields(path, data)
    version, problem = None, "version not detected"
    if detect:
        version, problem = detect_version(path, data["version"])
    return Runtime(
        language=data["language"],
        version=version,
        aliases=data.get("aliases", []),
        source_file=data["source_file"],
        run=data["run"],
        hello=data["hello"],
        path=path,
        compile=data.get("compile"),
        env=data.get("env", {}),
        readonly_paths=data.get("readonly_paths", []),
        limits=data.get("limits", {}),
        packages=data.get("packages", []),
        editor_mode=data.get("editor_mode", "text"),
        runtime=data.get("runtime"),
        starter=data.get("starter", data["hello"]).strip() + "\n",
        stdout_terminal=data.get("stdout_terminal", True),
        prestart=data.get("prestart", False),
        compile_limits=data.get("compile_limits", {}),
        sources=data.get("sources", []),
        conformance=data.get("conformance", {}),
        npm=data.get("npm", []),
        problem=problem or None,
    )


class Registry:
    """Every declared runtime; lookups see only the installed ones."""

    def __init__(self, runtimes: list[Runtime]) -> None:
        self.all = sorted(runtimes, key=lambda r: r.language)
        self.installed = [r for r in self.all if r.available]
        # Every run looks its language up: by name, not by a walk of them all.
        self._by_name: dict[str, list[Runtime]] = {}
        for runtime in self.installed:
            for name in runtime.names():
                self._by_name.setdefault(name, []).append(runtime)

    @classmethod
    def load(cls, directory: Path, detect: bool = True) -> Registry:
        paths = sorted(directory.glob("*.toml"))
        # Each version command mostly waits (a JVM starting, say): run them at
        # once. Validation errors still surface, from the first bad file.
        with ThreadPoolExecutor(max_workers=8) as pool:
            runtimes = list(pool.map(lambda p: load_file(p, detect), paths))
        _check_names_are_unique(runtimes)
        return cls(runtimes)

    def find(self, language: str, version: str = "*") -> Runtime:
        named = self._by_name.get(language.lower(), [])
        if not named:
            raise UnknownRuntime(
                f"language {language!r} is not installed; GET /api/v2/runtimes "
                "lists the languages and versions available"
            )
        matching = [r for r in named if version_matches(version, r.version or "")]
        if not matching:
            have = ", ".join(str(r.version) for r in named)
            raise UnknownRuntime(
                f"{language} version {version!r} is not installed; installed: {have}"
            )
        return max(matching, key=lambda r: _version_key(r.version or ""))


def _check_names_are_unique(runtimes: list[Runtime]) -> None:
    """A name two languages claim would run whichever has the higher version;
    several files of one language (its versions) share their names."""
    owners: dict[str, Runtime] = {}
    for runtime in runtimes:
        for name in sorted(n.lower() for n in runtime.names()):
            owner = owners.setdefault(name, runtime)
            if owner.language != runtime.language:
                raise _fail(
                    runtime.path,
                    f"name {name!r} is also a name of {owner.language} in "
                    f"{owner.path.name}; give each language its own names",
                )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def version_matches(wanted: str, installed: str) -> bool:
    """`*`, `3`, `3.x`, `3.11.x`, `3.11.2`: a prefix of the installed version."""
    wanted = (wanted or "*").strip()
    if wanted in ("*", "x", "latest"):
        return True
    parts = [p for p in wanted.split(".") if p not in ("x", "*", "X")]
    return installed.split(".")[: len(parts)] == parts
