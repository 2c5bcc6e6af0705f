"""What a snippet holds, how it is checked, and how its id derives from it.

The id is a hash of a canonical JSON form of the content (language, exact
version, files, stdin, arguments, page options), so sharing the same content
again gives the same link and a link can never show anything else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from executor.errors import JobError
from executor.job import check_file_name

ID_LENGTHS = (12, 16, 24, 32)  # longer only if a shorter id is already taken
DEFAULT_MAX_BYTES = 256 * 1024
MAX_FILES = 16
MAX_ARGS = 64
MAX_NAME_CHARS = 50  # of a language or a version, as the database keeps them
OPTION_KEYS = {
    "theme": {"light", "dark", "auto"},
    "readonly": {True, False},
    "hide": None,  # a list drawn from HIDEABLE
}
HIDEABLE = ("editor", "output", "stdin")


class SnippetError(ValueError):
    """Content that cannot be shared; the message says what and how to fix it."""


class SnippetTooLarge(SnippetError):
    """Content over PLAYGROUND_SNIPPET_MAX_BYTES."""


def max_bytes() -> int:
    value = os.environ.get("PLAYGROUND_SNIPPET_MAX_BYTES")
    try:
        return int(value) if value else DEFAULT_MAX_BYTES
    except ValueError:
        raise SnippetError(
            f"PLAYGROUND_SNIPPET_MAX_BYTES must be a whole number of bytes, "
            f"got {value!r}"
        ) from None


@dataclass(frozen=True)
class Content:
    language: str
    version: str
    files: list[dict[str, str]]
    stdin: str = ""
    args: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def canonical(self) -> bytes:
        """One byte string per content: keys sorted, no spaces, UTF-8."""
        data = {
            "language": self.language,
            "version": self.version,
            "files": self.files,
            "stdin": self.stdin,
            "args": self.args,
            "options": self.options,
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)  # fmt: skip
        return text.encode("utf-8", "surrogatepass")

    def ids(self) -> list[str]:
        """Candidate ids, shortest first: base32 of the content's SHA-256."""
        digest = hashlib.sha256(self.canonical()).digest()
        text = base64.b32encode(digest).decode().rstrip("=").lower()
        return [text[:n] for n in ID_LENGTHS]


def _text(payload: dict[str, Any], name: str, default: str | None = None) -> str:
    value = payload.get(name, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise SnippetError(f"{name} is required as a non-empty string, got {value!r}")
    return value


def _name(payload: dict[str, Any], name: str) -> str:
    value = _text(payload, name)
    if len(value) > MAX_NAME_CHARS:
        raise SnippetError(f"{name} is {len(value)} characters long; at most "
                           f"{MAX_NAME_CHARS} are allowed")  # fmt: skip
    return value


def _files(payload: dict[str, Any]) -> list[dict[str, str]]:
    files = payload.get("files")
    if not isinstance(files, list) or not files:
        raise SnippetError("files is required: a list of {name?, content} objects")
    if len(files) > MAX_FILES:
        raise SnippetError(f"{len(files)} files given; at most {MAX_FILES} are kept")
    checked = []
    for index, entry in enumerate(files):
        if not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
            raise SnippetError(f"files[{index}].content is required as a string")
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise SnippetError(f"files[{index}].name must be a string")
        if name:
            try:
                check_file_name(name)
            except JobError as exc:
                raise SnippetError(f"files[{index}].name: {exc}") from None
        checked.append({"name": name, "content": entry["content"]})
    return checked


def _args(payload: dict[str, Any]) -> list[str]:
    args = payload.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SnippetError("args must be a list of strings")
    if len(args) > MAX_ARGS:
        raise SnippetError(f"{len(args)} arguments given; at most {MAX_ARGS}")
    return list(args)


def check_options(options: Any) -> dict[str, Any]:
    """The page options a snippet keeps; unknown keys are refused. `hide` is
    kept in one order without repeats, so equal options give equal ids."""
    if not isinstance(options, dict):
        raise SnippetError("options must be an object")
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in OPTION_KEYS:
            known = ", ".join(sorted(OPTION_KEYS))
            raise SnippetError(f"option {key!r} is unknown; known options: {known}")
        checked[key] = _option(key, value)
    return checked


def _option(key: str, value: Any) -> Any:
    if key == "hide":
        if not (isinstance(value, list)
                and all(isinstance(part, str) and part in HIDEABLE
                        for part in value)):  # fmt: skip
            raise SnippetError(f"option hide must be a list drawn from {HIDEABLE}")
        return [part for part in HIDEABLE if part in value]

    # The type is checked first: 1 == True, and a list is not hashable.
    allowed = OPTION_KEYS[key] or set()
    expected = bool if key == "readonly" else str
    if not isinstance(value, expected) or value not in allowed:
        choices = ", ".join(sorted(json.dumps(v) for v in allowed))
        raise SnippetError(f"option {key} cannot be {value!r}; use one of {choices}")
    return value


NUL_REFUSED = ("snippets cannot hold NUL characters (\\0); remove them from the "
               "code, input, arguments, language and version")  # fmt: skip
SURROGATE_REFUSED = ("the code, input or arguments hold text that is not valid "
                     "Unicode (a lone surrogate); remove it")  # fmt: skip


def _storable(content: Content) -> None:
    # Databases store text as UTF-8, and PostgreSQL refuses NUL outright:
    # a snippet that could not be stored everywhere is refused everywhere.
    texts = [content.language, content.version, content.stdin, *content.args]
    texts += [text for f in content.files for text in (f["name"], f["content"])]
    for text in texts:
        if "\0" in text:
            raise SnippetError(NUL_REFUSED)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise SnippetError(SURROGATE_REFUSED) from None


def parse(payload: Any) -> Content:
    """The content of a share request, checked field by field and by size."""
    if not isinstance(payload, dict):
        raise SnippetError("the request body must be a JSON object")
    content = Content(
        language=_name(payload, "language"),
        version=_name(payload, "version"),
        files=_files(payload),
        stdin=_text(payload, "stdin", ""),
        args=_args(payload),
        options=check_options(payload.get("options", {})),
    )
    _storable(content)
    size, limit = len(content.canonical()), max_bytes()
    if size > limit:
        raise SnippetTooLarge(
            f"this snippet is {size:,} bytes; snippets are limited to {limit:,} "
            "bytes (code, input and arguments together): shorten it to share it"
        )
    return content
