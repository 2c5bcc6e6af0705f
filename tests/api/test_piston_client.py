"""A real, unmodified Piston client library against the live site.

The client is ultra-piston (PyPI), used as its users use it, with only its
base URL changed: it sends JSON with `Content-Type: application/json` to
`{base_url}runtimes` and `{base_url}execute`, as Piston's v2 API expects, and
parses the answers into its own typed models. It is pointed at both prefixes
the site serves, the self-hosted one and the one of the public instance.
"""

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from ultra_piston import File, PistonClient
from ultra_piston.errors import BadRequestError

PREFIXES = ["/api/v2/", "/api/v2/piston/"]
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's default server is a public host: make sure that no
    request of this test leaves the machine, whatever the client does."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    resolve = socket.getaddrinfo

    def loopback_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            raise OSError(f"this test talks to the local site only, not {host!r}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_getaddrinfo)


@pytest.fixture(params=PREFIXES)
def client(
    request: pytest.FixtureRequest, site: str, loopback_only: None
) -> Iterator[PistonClient]:
    assert urlsplit(site).hostname in LOOPBACK
    # rate_limit is the client's pause between requests (1 s by default).
    yield PistonClient(base_url=site + request.param, rate_limit=0)


def latest(client: PistonClient, language: str) -> str:
    """The version a bot would pick: the one the runtime list gives."""
    versions = [rt.version for rt in client.get_runtimes() if rt.language == language]
    assert versions, f"{language} is not listed"
    return versions[0]


def test_lists_runtimes(client: PistonClient) -> None:
    runtimes = {rt.language: rt for rt in client.get_runtimes()}
    assert {"python", "c", "c++", "javascript", "bash"} <= set(runtimes)
    assert "py" in runtimes["python"].aliases
    assert "cpp" in runtimes["c++"].aliases
    assert runtimes["javascript"].runtime == "node"
    for runtime in runtimes.values():
        assert runtime.version and runtime.version[0].isdigit()


ARGS_AND_STDIN = """\
import sys
print(sys.argv[1:])
sys.stdout.write(sys.stdin.read().upper())
sys.stdout.flush()
sys.stderr.write("done\\n")
"""


def test_runs_a_program_with_stdin_and_args(client: PistonClient) -> None:
    result = client.post_execute(
        "python",
        latest(client, "python"),
        File(name="main.py", content=ARGS_AND_STDIN),
        stdin="first line\nsecond line",
        args=["one", "two words", ""],
    )
    assert result.language == "python"
    assert result.version == latest(client, "python")
    assert result.compile is None
    run = result.run
    assert run.stdout == "['one', 'two words', '']\nFIRST LINE\nSECOND LINE"
    assert run.stderr == "done\n"
    assert run.output == run.stdout + run.stderr
    assert (run.code, run.signal) == (0, None)


def test_any_version_and_an_alias(client: PistonClient) -> None:
    source = '#include <iostream>\nint main() { std::cout << "hi" << std::endl; }\n'
    result = client.post_execute("cpp", "*", File(content=source))
    assert result.language == "c++"
    assert result.compile is not None
    assert (result.compile.code, result.compile.signal) == (0, None)
    assert (result.run.stdout, result.run.code) == ("hi\n", 0)


def test_reads_a_compile_error(client: PistonClient) -> None:
    """Piston answers a failed compilation with `run` set to the compile
    stage's result, so clients that always read `run` (ultra-piston's model
    requires it) show the compiler's message."""
    source = "int main(void) { return undeclared_name; }\n"
    result = client.post_execute("c", latest(client, "c"), File(content=source))
    assert result.compile is not None
    assert result.compile.code not in (0, None)
    assert "undeclared_name" in result.compile.stderr
    assert "error" in result.compile.stderr
    assert result.compile.output == result.compile.stderr
    assert result.run.code == result.compile.code
    assert "undeclared_name" in result.run.output


def test_an_unknown_language_is_a_bad_request(client: PistonClient) -> None:
    with pytest.raises(BadRequestError):
        client.post_execute("no-such-language", "*", File(content="x"))
