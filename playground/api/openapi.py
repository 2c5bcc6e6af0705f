"""The OpenAPI 3.1 description of the HTTP API. It is built on each request
from the settings and the runtime registry, so that the limits and languages
it states are the ones this site enforces.

    build()           info, with the websocket protocol in its description
      paths()         every operation, under both prefixes
      components()    schemas, shared responses, security schemes
"""

from typing import Any

from executor import config, requests
from executor.config import Config
from executor.job import MAX_PATH_BYTES
from executor.limits import Limits
from executor.runtimes import Runtime
from playground.registry import registry

Schema = dict[str, Any]

PREFIXES = {"/api/v2": "", "/api/v2/piston": "Piston"}
JSON = "application/json"
STAGE_STATUSES = ("SG", "TO", "ML", "OL", "EL", "XX")
COMPILE_FAILURES = ("CE", *STAGE_STATUSES)
LIMIT_WORDS = {"wall_time_ms": "wall-time", "cpu_time_ms": "CPU-time"}

DESCRIPTION = """
A code playground that answers Piston's v2 API. Every endpoint is also
served under `/api/v2/piston/`, where clients of the public Piston instance
look for it, and with a trailing `/`. Errors are JSON `{"message": "..."}`
with a 4xx status; a method a path does not take gets 405 with an `Allow`
header; a body over 4 MiB, or a `Host` this site does not serve, gets 400.

## Websocket `/api/v2/connect`

OpenAPI cannot describe it, so here is its summary (also served at
`/api/v2/piston/connect`). Frames are JSON text. The client sends
`{"type": "init", ...the fields of an execute request}` within 5 seconds,
then any of `{"type": "data", "stream": "stdin", "data": "..."}`,
`{"type": "close_stdin"}` and `{"type": "signal", "signal": "SIGINT"}`
(`SIGKILL` stops the run). The server answers `{"type": "runtime",
"language", "version"}`, `{"type": "queue", "position"}` while the run waits
for a sandbox, then per stage `{"type": "stage", "stage"}`, `{"type": "data",
"stream", "data"}` as output arrives and `{"type": "exit", "stage", "code",
"signal", "status", "message", "cpu_time", "wall_time", "memory",
"truncated"}`. A bad frame gets `{"type": "error", "message"}` and the socket
closes. Close codes: 4000 already initialised, 4001 no init in time, 4002
error, 4003 not initialised, 4004 only stdin can be written, 4005 invalid
signal, 4006 refused (unknown key, rate limit or full queue), 4999 the run is complete.
stdin is a terminal, and the wall-time limit is the longer
`PLAYGROUND_INTERACTIVE_WALL_TIME_MS`.
"""

EXAMPLES = {
    "python": {
        "language": "python",
        "version": "*",
        "files": [{"name": "main.py", "content": "print(input()[::-1])"}],
        "stdin": "stressed\n",
    },
    "c": {
        "language": "c",
        "files": [{"content": '#include <stdio.h>\nint main(void) { puts("hi"); }'}],
    },
    "compile-error": {"language": "c", "files": [{"content": "int main("}]},
    "bash": {
        "language": "bash",
        "files": [{"content": 'echo "$#: $*"'}],
        "args": ["one", "two"],
        "run_timeout": 1000,
    },
}


def build() -> Schema:
    """The whole description, as a JSON-ready dict."""
    settings, installed = config.get(), registry().installed
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Code playground API (Piston v2 compatible)",
            "version": "2",
            "description": DESCRIPTION.strip(),
        },
        "tags": [
            {"name": "run", "description": "Run programs"},
            {"name": "runtimes", "description": "Languages and their toolchains"},
            {"name": "meta", "description": "This description and its page"},
        ],
        "paths": paths(installed),
        "components": components(settings, installed),
    }


# -- paths -------------------------------------------------------------------


def ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def answer(description: str, schema: Schema, media_type: str = JSON) -> Schema:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def listing(description: str, item: str) -> Schema:
    return answer(description, {"type": "array", "items": ref("schemas", item)})


def operation(op_id: str, tag: str, summary: str, responses: Schema) -> Schema:
    # A Host the site does not serve is refused before any view runs.
    bad = {"400": ref("responses", "BadRequest")}
    return {"operationId": op_id, "tags": [tag], "summary": summary,
            "responses": {**bad, **responses}}  # fmt: skip


def with_body(found: Schema, schema: str, examples: Schema | None = None) -> Schema:
    media: Schema = {"schema": ref("schemas", schema)}
    if examples:
        media["examples"] = examples
    return {**found, "requestBody": {"required": True, "content": {JSON: media}}}


def execute_operation(suffix: str, installed: list[Runtime]) -> Schema:
    found = operation(
        f"execute{suffix}", "run", "Run a program and wait for its result",
        {"200": answer("The run ended; see how", ref("schemas", "ExecuteResult")),
         "401": ref("responses", "UnknownKey"),
         "429": ref("responses", "TooMany"),
         "503": ref("responses", "QueueFull")},
    )  # fmt: skip
    languages = {rt.language for rt in installed}
    examples = {name: {"value": body} for name, body in EXAMPLES.items()
                if body["language"] in languages}  # fmt: skip
    found["security"] = [{}, {"apiKey": []}]
    return with_body(found, "ExecuteRequest", examples)


def package_change(op_id: str, summary: str) -> Schema:
    found = operation(
        op_id, "runtimes", summary,
        {"200": answer("The runtime now", ref("schemas", "PackageChanged")),
         "403": ref("responses", "NotAdministrator"),
         "404": ref("responses", "NoSuchRuntime"),
         "409": ref("responses", "WouldRemoveMore"),
         "500": ref("responses", "AptFailed")},
    )  # fmt: skip
    found["security"] = [{"adminKey": []}]
    return with_body(found, "PackageRequest")


def api_paths(prefix: str, suffix: str, installed: list[Runtime]) -> Schema:
    runtimes = listing("The installed runtimes", "Runtime")
    packages = listing("Every declared runtime", "Package")
    return {
        f"{prefix}/runtimes": {"get": operation(
            f"listRuntimes{suffix}", "runtimes", "List the installed runtimes",
            {"200": runtimes})},
        f"{prefix}/execute": {"post": execute_operation(suffix, installed)},
        f"{prefix}/packages": {
            "get": operation(f"listPackages{suffix}", "runtimes",
                             "List every declared runtime", {"200": packages}),
            "post": package_change(f"installPackage{suffix}", "Install a runtime"),
            "delete": package_change(f"removePackage{suffix}", "Remove a runtime"),
        },
    }  # fmt: skip


def paths(installed: list[Runtime]) -> Schema:
    spec = answer(
        "This description", {"type": "object", "required": ["openapi", "info", "paths"]}
    )
    page = answer("The API's documentation", {"type": "string"}, "text/html")
    found: Schema = {}
    for prefix, suffix in PREFIXES.items():
        found.update(api_paths(prefix, suffix, installed))
    return found | {
        "/api/v2/openapi.json": {"get": operation(
            "openapi", "meta", "This OpenAPI description", {"200": spec})},
        "/api/docs": {"get": operation(
            "docs", "meta", "The API's page for people", {"200": page})},
    }  # fmt: skip


# -- components --------------------------------------------------------------


def components(settings: Config, installed: list[Runtime]) -> Schema:
    compiled = sorted(rt.language for rt in installed if rt.compile)
    return {
        "schemas": {
            **simple_schemas(),
            "File": file_schema(),
            "ExecuteRequest": execute_request(settings, installed),
            "CompileResult": stage_result("compile", "CE"),
            "RunResult": stage_result("run", "RE", "CE"),
            "ExecuteResult": execute_result(compiled),
        },
        "responses": responses(),
        "securitySchemes": {
            "apiKey": bearer("Optional: an API key (`pk_...`) from `manage.py "
                             "apikey create`, with rate limits of its own. "
                             "Without one, limits apply per client address."),
            "adminKey": bearer("The site's PLAYGROUND_ADMIN_KEY"),
        },
    }  # fmt: skip


def bearer(description: str) -> Schema:
    return {"type": "http", "scheme": "bearer", "description": description}


def error(description: str, retry_after: bool = False) -> Schema:
    found = answer(description, ref("schemas", "Error"))
    if retry_after:
        seconds = {"type": "integer", "minimum": 1}
        header = {"required": True, "schema": seconds, "description": "Seconds to wait"}
        found["headers"] = {"Retry-After": header}
    return found


def responses() -> Schema:
    # No operation can name it: it answers the methods a path does not take.
    not_allowed = error("Wrong method; `Allow` names the ones this path takes")
    not_allowed["headers"] = {"Allow": {"required": True, "schema": {"type": "string"}}}
    return {
        "BadRequest": error("Invalid: the message names the field, the value and "
                            "what is allowed. Also a body over 4 MiB, or a Host "
                            "this site does not serve."),
        "UnknownKey": error("The API key is unknown or revoked"),
        "TooMany": error("Over the client's rate or runs at once", retry_after=True),
        "QueueFull": error("Every sandbox is busy and the queue is full", True),
        "NotAdministrator": error("The administrator key is missing or wrong"),
        "NoSuchRuntime": error("No runtime file declares that language"),
        "AptFailed": error("apt-get failed; the message quotes its last line"),
        "WouldRemoveMore": error("removing the runtime would also remove packages "
                                 "that other software needs; nothing was removed"),
        "MethodNotAllowed": not_allowed,
    }  # fmt: skip


def described(description: str, **schema: Any) -> Schema:
    return {**schema, "description": description}


def closed(properties: Schema, required: list[str] | None = None) -> Schema:
    """An object with exactly these properties: a response that grows a field
    the description lacks should fail validation, not pass unnoticed."""
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required,
            "additionalProperties": False}  # fmt: skip


def simple_schemas() -> Schema:
    text, names = {"type": "string"}, {"type": "array", "items": {"type": "string"}}
    return {
        "Error": closed({"message": described("What went wrong", **text)}),
        "Runtime": closed({
            "language": described("The runtime's name", **text),
            "version": described("Its installed version", **text),
            "aliases": described("Other names it answers to", **names),
            "runtime": described("The engine, e.g. `node` for JavaScript", **text),
        }, ["language", "version", "aliases"]),
        "Package": closed({
            "language": described("The runtime's name", **text),
            "language_version": described("Empty when not installed", **text),
            "installed": described("Whether it can run", type="boolean"),
            "packages": described("The Debian packages that provide it", **names),
        }),
        "PackageRequest": {"type": "object", "required": ["language"], "properties": {
            "language": described("A name or an alias", **text),
            "version": described("Accepted and ignored", **text),
        }},
        "PackageChanged": closed({
            "language": described("The runtime's name", **text),
            "version": described("Its version; empty once removed", **text),
            "installed": described("Whether it can run now", type="boolean"),
        }),
    }  # fmt: skip


def file_schema() -> Schema:
    return {"type": "object", "required": ["content"], "properties": {
        "name": described(
            f"A relative path in the work directory, at most {MAX_PATH_BYTES} "
            "bytes: no `.` or `..` parts, no leading `/` or `-`, no backslash or "
            "NUL, not given twice. Empty or absent: the runtime's source file "
            "name for the first file, `fileN.code` for the others.",
            type=["string", "null"], maxLength=MAX_PATH_BYTES),
        "content": described("The file's text, or its bytes encoded", type="string"),
        "encoding": described("How `content` is written",
                              enum=list(requests.ENCODINGS), default="utf8"),
    }}  # fmt: skip


# -- execute -----------------------------------------------------------------


def execute_request(settings: Config, installed: list[Runtime]) -> Schema:
    languages = sorted(rt.language for rt in installed)
    stdin, args = requests.MAX_STDIN_BYTES, requests.MAX_ARGS_BYTES
    fields = {
        "language": described(
            "A language or an alias, in any case. Installed: " + ", ".join(languages),
            type="string", examples=languages),
        "version": described(
            "`*`, `x` or `latest`, or a prefix of the installed version such as "
            "`3`, `3.11.x` or `3.11.2`. Piston requires it; here it may be left "
            "out.", type="string", default="*"),
        "files": described(
            "The program's files; the first is the one run or compiled first",
            type="array", minItems=1, maxItems=requests.MAX_FILES,
            items=ref("schemas", "File")),
        "stdin": described(
            f"Given to the program byte for byte, then end of file; at most {stdin} "
            "bytes of UTF-8", type=["string", "null"], maxLength=stdin),
        "args": described(
            f"Arguments after the program; at most {args} bytes in all",
            type=["array", "null"], maxItems=requests.MAX_ARGS,
            items={"type": "string", "pattern": "^[^\\x00]*$"}),
    }  # fmt: skip
    for field, (stage, name) in requests.LIMIT_FIELDS.items():
        fields[field] = limit(stage, name, settings, installed)
    return {"type": "object", "required": ["language", "files"], "properties": fields}


def limit(stage: str, name: str, settings: Config, installed: list[Runtime]) -> Schema:
    memory = name == "memory_bytes"
    lowest = requests.MIN_MEMORY_BYTES if memory else 1
    runtimes: list[Runtime | None] = [*installed] or [None]
    highest = max(getattr(stage_maxima(stage, settings, rt), name) for rt in runtimes)
    default = getattr(settings.stage_limits(stage, 0), name)
    text = (
        f"The {stage} stage's {LIMIT_WORDS.get(name, 'memory')} limit in "
        f"{'bytes' if memory else 'milliseconds'}, {lowest} to {highest} (some "
        f"runtimes allow less). Absent, null, -1 and 0 mean the default, {default} "
        "(or more where a runtime needs it)."
    )
    chosen = {"type": "integer", "minimum": lowest, "maximum": highest}
    return described(text, anyOf=[{"enum": [None, -1, 0]}, chosen])


def stage_maxima(stage: str, settings: Config, runtime: Runtime | None) -> Limits:
    """The most a request may ask of this runtime's stage: the configured
    maximum, or the runtime's own raised default, as executor.requests does."""
    base = settings.stage_limits(stage, 0)
    if runtime is not None:
        base = base.raised(**runtime.limits)
    if runtime is not None and stage == "compile":
        base = base.raised(**runtime.compile_limits)
    wall = settings.maxima[settings.wall_key(stage, interactive=False)]
    return base.raised(wall_time_ms=wall, memory_bytes=settings.maxima["memory_bytes"],
                       cpu_time_ms=settings.maxima[f"{stage}_cpu_time_ms"])  # fmt: skip


def stage_result(stage: str, *failures: str) -> Schema:
    text, count = {"type": "string"}, {"type": "integer", "minimum": 0}
    own = {"RE": "exited non-zero", "CE": "the compile stage failed"}
    statuses = "".join(f"{status}: {own[status]}; " for status in failures)
    return closed({
        "stdout": described("The stream as UTF-8 (bad bytes become U+FFFD)", **text),
        "stderr": described("The stream as UTF-8 (bad bytes become U+FFFD)", **text),
        "output": described("Both streams in the order they arrived", **text),
        "code": described("Exit code; null when a signal or the playground "
                          "ended the stage", type=["integer", "null"],
                          minimum=0, maximum=255),
        "signal": described("The signal that ended it, e.g. SIGSEGV",
                            type=["string", "null"], pattern="^SIG[A-Z0-9]+$"),
        "status": described(
            f"null: exited 0; {statuses}SG: killed by a signal; TO: wall or CPU "
            "time limit; ML: memory limit; OL/EL: stdout/stderr cap reached "
            "(output kept up to it); XX: the playground's own failure",
            enum=[None, *failures, *STAGE_STATUSES]),
        "message": described("The status in words", type=["string", "null"]),
        "cpu_time": described(f"CPU milliseconds of the {stage} stage", **count),
        "wall_time": described("Milliseconds from start to end", **count),
        "memory": described("Peak bytes of all its processes together", **count),
    })  # fmt: skip


def execute_result(compiled: list[str]) -> Schema:
    found = closed({
        "language": described("The runtime's own name", type="string"),
        "version": described("The version that ran", type="string"),
        "compile": described("The compile stage, for compiled languages only",
                             **ref("schemas", "CompileResult")),
        "run": described("The run stage; after a failed compile stage, a copy of "
                         "it (as in Piston), though the program did not run",
                         **ref("schemas", "RunResult")),
    }, ["language", "version", "run"])  # fmt: skip
    found["allOf"] = [compile_rule(compiled), *map(copied_rule, COMPILE_FAILURES)]
    return found


def compile_rule(compiled: list[str]) -> Schema:
    """`compile` is there exactly for the compiled languages."""
    absent = {"not": {"required": ["compile"]}}
    if not compiled:
        return absent
    language = {"properties": {"language": {"enum": compiled}}}
    return {"if": language, "then": {"required": ["compile"]}, "else": absent}


def copied_rule(status: str) -> Schema:
    """A compile stage that ended with `status` is repeated as `run`."""

    def ended(stage: str) -> Schema:
        return {"properties": {stage: {"properties": {"status": {"const": status}}}}}

    return {"if": {"required": ["compile"], **ended("compile")}, "then": ended("run")}
