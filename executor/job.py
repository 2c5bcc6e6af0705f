"""A job: everything a supervisor needs to run one program, fully resolved.

The backend builds a Job from a request and a runtime; the supervisor runs its
stages in order. A Job is plain data so that it can cross process and host
boundaries (`to_wire` / `from_wire`).
"""

from __future__ import annotations

import base64
import posixpath
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from executor.errors import FileNameError
from executor.limits import Limits

MAX_FILE_NAME_BYTES = 255
MAX_PATH_BYTES = 1024


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def check_file_name(name: str) -> str:
    """Return `name` normalised, or raise FileNameError saying what is wrong."""
    if not isinstance(name, str) or name in ("", "."):
        raise FileNameError(f"file name {name!r} is empty; give each file a name")
    if "\0" in name or "\\" in name:
        raise FileNameError(f"file name {name!r} contains a NUL byte or backslash")
    if any(unicodedata.category(char) == "Cc" for char in name):
        # A newline or escape in a name would forge lines in compiler output.
        raise FileNameError(
            f"file name {name!r} contains a control character; use printable ones"
        )
    if name.startswith("/"):
        raise FileNameError(f"file name {name!r} is absolute; use a relative name")
    if name.startswith("-"):
        raise FileNameError(f"file name {name!r} starts with '-'; rename it")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise FileNameError(f"file name {name!r} is not valid Unicode") from None
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise FileNameError(
            f"file name {name!r} has an empty, '.' or '..' part; "
            "names must stay inside the work directory"
        )
    if len(name.encode()) > MAX_PATH_BYTES or any(
        len(part.encode()) > MAX_FILE_NAME_BYTES for part in parts
    ):
        raise FileNameError(
            f"file name {name[:40]!r}... is too long: at most "
            f"{MAX_FILE_NAME_BYTES} bytes per part and {MAX_PATH_BYTES} in all"
        )
    return posixpath.normpath(name)


@dataclass(frozen=True)
class File:
    """A file placed in the work directory before a stage starts."""

    name: str
    content: bytes
    executable: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "content": base64.b64encode(self.content).decode(),
            "executable": self.executable,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> File:
        return cls(
            name=check_file_name(data["name"]),
            content=base64.b64decode(data["content"]),
            executable=bool(data.get("executable", False)),
        )


@dataclass(frozen=True)
class Stage:
    """One program to run: `compile` or `run`."""

    name: str
    argv: list[str]
    limits: Limits

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "argv": self.argv, "limits": self.limits.to_wire()}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Stage:
        return cls(
            name=str(data["name"]),
            argv=[str(a) for a in data["argv"]],
            limits=Limits.from_wire(data["limits"]),
        )


@dataclass(frozen=True)
class Job:
    """A resolved request: files, stdin and the stages to run in order.

    `interactive` gives the run stage a pseudo-terminal for stdin and, unless
    `stdout_terminal` is false, for stdout; otherwise stdin is `stdin`
    followed by end of file.
    """

    run_id: str
    language: str
    version: str
    files: list[File]
    stages: list[Stage]
    env: dict[str, str]
    readonly_paths: list[str] = field(default_factory=list)
    stdin: bytes = b""
    interactive: bool = False
    stdout_terminal: bool = True
    prestart: bool = False  # its interpreter may start before the run

    def to_wire(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "language": self.language,
            "version": self.version,
            "files": [f.to_wire() for f in self.files],
            "stages": [s.to_wire() for s in self.stages],
            "env": self.env,
            "readonly_paths": self.readonly_paths,
            "stdin": base64.b64encode(self.stdin).decode(),
            "interactive": self.interactive,
            "stdout_terminal": self.stdout_terminal,
            "prestart": self.prestart,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Job:
        return cls(
            run_id=str(data["run_id"]),
            language=str(data["language"]),
            version=str(data["version"]),
            files=[File.from_wire(f) for f in data["files"]],
            stages=[Stage.from_wire(s) for s in data["stages"]],
            env={str(k): str(v) for k, v in data["env"].items()},
            readonly_paths=[str(p) for p in data.get("readonly_paths", [])],
            stdin=base64.b64decode(data.get("stdin", "")),
            interactive=bool(data.get("interactive", False)),
            stdout_terminal=bool(data.get("stdout_terminal", True)),
            prestart=bool(data.get("prestart", False)),
        )
