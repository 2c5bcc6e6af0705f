"""The websocket /api/v2/connect: frames in order, interactive input through
the pseudo-terminal, signals, caps, streaming and every error close code."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from executor import config
from playground import audit
from playground.asgi import application

ORIGIN = [(b"origin", b"http://127.0.0.1")]
LANGUAGES = ["python", "javascript", "c", "c++", "bash"]
SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(5)\n"

Frame = dict[str, Any]


class Session:
    """A websocket client that keeps every frame with the time it arrived."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.frames: list[tuple[float, Frame]] = []
        self.close_code: int | None = None

    async def send(self, frame: Frame) -> None:
        await self.communicator.send_json_to(frame)

    async def next(self, timeout: float = 5) -> Frame | None:
        """The next frame, or None once the server has closed the socket."""
        if self.close_code is not None:
            return None
        message = await self._receive(timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            return None
        frame = json.loads(message["text"])
        self.frames.append((time.monotonic(), frame))
        return frame

    async def _receive(self, timeout: float) -> dict[str, Any]:
        # Waits without cancelling the application on timeout, unlike
        # receive_output, so that the cleanup disconnect still stops the run.
        app = self.communicator.future
        get = asyncio.ensure_future(self.communicator.output_queue.get())
        done, _ = await asyncio.wait(
            {get, app}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if get in done:
            return get.result()
        get.cancel()
        if app.done():
            app.result()
        raise AssertionError(
            f"nothing arrived within {timeout} s; got {[f for _, f in self.frames]}"
        )

    async def until(self, wanted: Callable[[Frame], bool], timeout: float = 5) -> Frame:
        deadline = time.monotonic() + timeout
        while frame := await self.next(max(deadline - time.monotonic(), 0.01)):
            if wanted(frame):
                return frame
        raise AssertionError(
            f"closed with {self.close_code} before the frame "
            f"wanted; got {[f for _, f in self.frames]}"
        )

    async def until_text(self, stream: str, text: str, timeout: float = 5) -> None:
        await self.until(lambda _: text in self.text(stream), timeout)

    async def until_closed(self, timeout: float = 10) -> int:
        deadline = time.monotonic() + timeout
        while await self.next(max(deadline - time.monotonic(), 0.01)):
            pass
        assert self.close_code is not None
        return self.close_code

    def of_type(self, kind: str) -> list[Frame]:
        return [f for _, f in self.frames if f["type"] == kind]

    def text(self, stream: str) -> str:
        return "".join(f["data"] for f in self.of_type("data") if f["stream"] == stream)

    def kinds(self) -> list[str]:
        """Frame types in order, a run of data frames counted once."""
        kinds: list[str] = []
        for _, frame in self.frames:
            if not (kinds and frame["type"] == "data" == kinds[-1]):
                kinds.append(frame["type"])
        return kinds


@asynccontextmanager
async def connected(
    headers: list[tuple[bytes, bytes]] | None = None,
) -> AsyncIterator[Session]:
    communicator = WebsocketCommunicator(
        application, "/api/v2/connect", headers=ORIGIN + (headers or [])
    )
    accepted, _ = await communicator.connect()
    assert accepted
    try:
        yield Session(communicator)
    finally:
        if not communicator.future.done():
            await communicator.disconnect(timeout=3)


def init(language: str, source: str, **fields: Any) -> Frame:
    return {
        "type": "init",
        "language": language,
        "version": "*",
        "files": [{"content": source}],
        **fields,
    }


def stdin(data: str) -> Frame:
    return {"type": "data", "stream": "stdin", "data": data}


async def test_run_sends_runtime_stage_data_exit_then_closes_4999():
    async with connected() as session:
        await session.send(init("python", 'print("Hello, world!")'))
        assert await session.until_closed() == 4999
    assert session.kinds() == ["runtime", "stage", "data", "exit"]
    runtime = session.of_type("runtime")[0]
    assert runtime["language"] == "python"
    assert runtime["version"]
    assert session.of_type("stage") == [{"type": "stage", "stage": "run"}]
    assert session.text("stdout") == "Hello, world!\n"
    exit_frame = session.of_type("exit")[0]
    assert exit_frame["stage"] == "run"
    assert exit_frame["code"] == 0
    assert exit_frame["status"] is None
    assert exit_frame["truncated"] is False
    for field in ("cpu_time", "wall_time", "memory"):
        assert isinstance(exit_frame[field], int)
    assert exit_frame["memory"] > 0


async def test_compiled_program_has_a_compile_stage_then_a_run_stage():
    source = '#include <stdio.h>\nint main(void) { puts("compiled"); }\n'
    async with connected() as session:
        await session.send(init("c", source))
        assert await session.until_closed() == 4999
    stages = [f["stage"] for f in session.of_type("stage")]
    assert stages == ["compile", "run"]
    assert [f["stage"] for f in session.of_type("exit")] == ["compile", "run"]
    assert session.text("stdout") == "compiled\n"


async def test_python_prompt_arrives_before_any_input_is_sent():
    source = 'name = input("Name? ")\nprint("Hi", name)\n'
    async with connected() as session:
        await session.send(init("python", source))
        await session.until_text("stdout", "Name? ")
        await session.send(stdin("Ada\n"))
        await session.until_text("stdout", "Hi Ada")
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "Name? Hi Ada\n"
    assert session.of_type("exit")[0]["status"] is None


async def test_c_prompt_without_newline_arrives_before_any_input_is_sent():
    source = """
#include <stdio.h>
int main(void) {
    char name[100];
    printf("Name? ");
    if (scanf("%99s", name) == 1) printf("Hi %s\\n", name);
    return 0;
}
"""
    async with connected() as session:
        await session.send(init("c", source))
        await session.until_text("stdout", "Name? ")
        await session.send(stdin("Ada\n"))
        assert await session.until_closed() == 4999
    # The terminal neither echoes the input nor turns \n into \r\n.
    assert session.text("stdout") == "Name? Hi Ada\n"


async def test_close_stdin_gives_the_program_end_of_file():
    source = "import sys\nprint(len(sys.stdin.read()))\n"
    async with connected() as session:
        await session.send(init("python", source))
        await session.until(lambda f: f == {"type": "stage", "stage": "run"})
        await session.send(stdin("abc\n"))
        await session.send({"type": "close_stdin"})
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "4\n"


async def test_close_stdin_after_a_partial_line_delivers_it_unchanged():
    # On a terminal, a line without newline needs its own end-of-file mark
    # before the one that means "no more input"; neither may add bytes.
    source = "import sys\ndata = sys.stdin.read()\nprint(len(data), repr(data))\n"
    async with connected() as session:
        await session.send(init("python", source))
        await session.until(lambda f: f == {"type": "stage", "stage": "run"})
        await session.send(stdin("a\nbc"))
        await session.send({"type": "close_stdin"})
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "4 'a\\nbc'\n"


async def test_stdin_of_init_is_written_first():
    source = 'name = input("Name? ")\nprint("Hi", name)\n'
    async with connected() as session:
        await session.send(init("python", source, stdin="Ada\n"))
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "Name? Hi Ada\n"


async def test_sigint_reaches_the_program_which_may_handle_it():
    source = """
import time
try:
    print("ready", flush=True)
    while True:
        time.sleep(0.05)
except KeyboardInterrupt:
    print("interrupted")
"""
    async with connected() as session:
        await session.send(init("python", source))
        # print() writes the text and the newline separately; a signal
        # between the two would lose the newline.
        await session.until_text("stdout", "ready\n")
        await session.send({"type": "signal", "signal": "SIGINT"})
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "ready\ninterrupted\n"
    exit_frame = session.of_type("exit")[0]
    assert exit_frame["code"] == 0
    assert exit_frame["status"] is None


async def test_sigkill_stops_an_endless_loop_within_a_second():
    source = "print('ready', flush=True)\nwhile True:\n    pass\n"
    async with connected() as session:
        await session.send(init("python", source))
        await session.until_text("stdout", "ready")
        asked = time.monotonic()
        await session.send({"type": "signal", "signal": "SIGKILL"})
        exit_frame = await session.until(lambda f: f["type"] == "exit", timeout=2)
        took = time.monotonic() - asked
        assert await session.until_closed() == 4999
    assert exit_frame["status"] == "SG"
    assert exit_frame["signal"] == "SIGKILL"
    assert exit_frame["message"] == "Stopped on request"
    assert took < 1


async def test_endless_output_is_cut_at_the_websocket_cap():
    cap = config.get().defaults["page_output_bytes"]
    source = "while True:\n    print('x' * 999)\n"
    async with connected() as session:
        await session.send(init("python", source))
        assert await session.until_closed(timeout=20) == 4999
    exit_frame = session.of_type("exit")[0]
    assert exit_frame["status"] == "OL"
    assert exit_frame["truncated"] is True
    assert len(session.text("stdout").encode()) == cap


async def test_stdout_and_stderr_arrive_as_separate_streams():
    source = (
        "import sys\nprint('to out')\nprint('to err', file=sys.stderr)\n"
        "print('out again')\n"
    )
    async with connected() as session:
        await session.send(init("python", source))
        assert await session.until_closed() == 4999
    assert session.text("stdout") == "to out\nout again\n"
    assert session.text("stderr") == "to err\n"


SLOW_TWO_LINES = {
    "python": "import time\nprint('first')\ntime.sleep(1)\nprint('second')\n",
    "javascript": "console.log('first');\n"
    "setTimeout(() => console.log('second'), 1000);\n",
    "c": "#include <stdio.h>\n#include <unistd.h>\n"
    'int main(void) { puts("first"); sleep(1); puts("second"); }\n',
    "c++": "#include <chrono>\n#include <iostream>\n#include <thread>\n"
    "int main() {\n"
    '    std::cout << "first\\n";\n'
    "    std::this_thread::sleep_for(std::chrono::seconds(1));\n"
    '    std::cout << "second\\n";\n'
    "}\n",
    "bash": "echo first\nsleep 1\necho second\n",
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_each_line_arrives_when_it_is_printed(language):
    async with connected() as session:
        await session.send(init(language, SLOW_TWO_LINES[language]))
        assert await session.until_closed() == 4999
    arrivals = {}
    for arrived, frame in session.frames:
        if frame["type"] == "data":
            for word in ("first", "second"):
                if word in frame["data"]:
                    arrivals.setdefault(word, arrived)
    assert session.text("stdout") == "first\nsecond\n"
    assert arrivals["second"] - arrivals["first"] >= 0.8


async def test_frame_that_is_not_json_gets_an_error_then_close_4002():
    async with connected() as session:
        await session.communicator.send_to(text_data="this is not json")
        assert await session.until_closed() == 4002
    assert session.kinds() == ["error"]
    assert session.of_type("error")[0]["message"]


async def test_data_before_init_closes_4003():
    async with connected() as session:
        await session.send(stdin("too early\n"))
        assert await session.until_closed() == 4003


async def test_writing_to_stdout_closes_4004():
    async with connected() as session:
        await session.send(init("python", SLEEPER))
        await session.until_text("stdout", "started")
        await session.send({"type": "data", "stream": "stdout", "data": "x"})
        assert await session.until_closed() == 4004


async def test_invalid_signal_name_closes_4005():
    async with connected() as session:
        await session.send(init("python", SLEEPER))
        await session.until_text("stdout", "started")
        await session.send({"type": "signal", "signal": "SIGNOTHING"})
        assert await session.until_closed() == 4005
    assert "SIGNOTHING" in session.of_type("error")[0]["message"]


async def test_second_init_closes_4000():
    async with connected() as session:
        await session.send(init("python", SLEEPER))
        await session.until_text("stdout", "started")
        await session.send(init("python", SLEEPER))
        assert await session.until_closed() == 4000


async def test_init_for_unknown_language_gets_an_error_naming_it_then_4002():
    async with connected() as session:
        await session.send(init("cobol-9000", "DISPLAY 'HI'."))
        assert await session.until_closed() == 4002
    assert session.kinds() == ["error"]
    assert "cobol-9000" in session.of_type("error")[0]["message"]


async def test_a_socket_that_never_sends_init_is_closed_4001(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_INIT_TIMEOUT_MS", "200")
    async with connected() as session:
        assert await session.until_closed() == 4001
    assert "init" in session.of_type("error")[0]["message"]


async def test_a_run_that_ends_before_the_init_deadline_still_closes_4999(
    monkeypatch,
):
    # The deadline passes after the run has ended, while its audit record is
    # written: an init did arrive, so the socket closes as completed.
    monkeypatch.setenv("PLAYGROUND_INIT_TIMEOUT_MS", "1000")
    record = audit.record

    async def record_after_the_deadline(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(1.5)
        await record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", record_after_the_deadline)
    async with connected() as session:
        await session.send(init("bash", "echo done"))
        assert await session.until_closed() == 4999
    assert session.kinds() == ["runtime", "stage", "data", "exit"]


@pytest.mark.usefixtures("host_is_clean")
async def test_disconnect_mid_run_stops_the_program():
    source = "print('running', flush=True)\nwhile True:\n    pass\n"
    async with connected() as session:
        await session.send(init("python", source, run_timeout=-1))
        await session.until_text("stdout", "running")
        await session.communicator.disconnect()
