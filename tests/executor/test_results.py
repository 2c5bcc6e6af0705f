"""How a stage ended becomes a status and a message in plain words; output is
decoded without ever splitting a character."""

import signal

import pytest

from executor.limits import MIB, Limits
from executor.results import OutputCollector, judge

LIMITS = Limits(
    wall_time_ms=3000,
    cpu_time_ms=2000,
    memory_bytes=256 * MIB,
    processes=64,
    open_files=256,
    file_size_bytes=10_000_000,
    workdir_bytes=64 * MIB,
    output_bytes=64 * 1024,
)


def verdict(stage="run", code=None, signum=None, reason=None, oom=False):
    return judge(stage, LIMITS, code, signum, reason, oom)


def test_exit_zero_has_no_status():
    assert verdict(code=0) == (None, None)


def test_nonzero_exit_is_a_runtime_error_with_the_code():
    status, message = verdict(code=3)
    assert status == "RE"
    assert "3" in message


def test_segfault_is_described_as_invalid_memory_access():
    status, message = verdict(signum=signal.SIGSEGV)
    assert status == "SG"
    assert "SIGSEGV" in message
    assert "invalid memory access" in message


@pytest.mark.parametrize("signum", [signal.SIGFPE, signal.SIGABRT, signal.SIGKILL])
def test_every_signal_is_named_in_the_message(signum):
    status, message = verdict(signum=signum)
    assert status == "SG"
    assert signal.Signals(signum).name in message


def test_wall_time_limit_says_wall_and_the_limit():
    status, message = verdict(signum=signal.SIGKILL, reason="wall")
    assert status == "TO"
    assert "Wall" in message
    assert "3 s" in message


def test_cpu_time_limit_says_cpu_and_the_limit():
    status, message = verdict(signum=signal.SIGKILL, reason="cpu")
    assert status == "TO"
    assert "CPU" in message
    assert "2 s" in message


def test_sigxcpu_from_the_kernel_counts_as_the_cpu_limit():
    status, message = verdict(signum=signal.SIGXCPU)
    assert status == "TO"
    assert "CPU" in message


def test_out_of_memory_kill_is_a_memory_limit_with_the_size():
    status, message = verdict(signum=signal.SIGKILL, oom=True)
    assert status == "ML"
    assert "256 MiB" in message


@pytest.mark.parametrize(("reason", "status"), [("stdout", "OL"), ("stderr", "EL")])
def test_output_cap_names_the_stream_and_the_cap(reason, status):
    got, message = verdict(signum=signal.SIGKILL, reason=reason)
    assert got == status
    assert reason in message
    assert "64 KiB" in message


def test_failed_compile_is_a_compile_error():
    status, message = verdict(stage="compile", code=1)
    assert status == "CE"
    assert message


def test_nonzero_exit_of_the_run_stage_is_never_a_compile_error():
    assert verdict(stage="run", code=1)[0] == "RE"


@pytest.mark.parametrize("reason", ["setup", "lost"])
def test_playground_failure_is_xx_not_the_users_fault(reason):
    status, message = verdict(reason=reason)
    assert status == "XX"
    assert message


def test_stop_on_request_is_a_sigkill_with_its_own_message():
    assert verdict(signum=signal.SIGKILL, reason="stopped") == (
        "SG",
        "Stopped on request",
    )


def test_setup_failure_wins_over_every_other_cause():
    status, _ = verdict(signum=signal.SIGKILL, reason="setup", oom=True)
    assert status == "XX"


def test_utf8_fed_one_byte_at_a_time_is_never_split():
    text = "h\u00e9llo \u20ac \U0001f600 \u4e2d\u6587\n"
    collector = OutputCollector()
    pieces = [collector.feed("stdout", bytes([b])) for b in text.encode()]
    collector.finish()
    assert "\ufffd" not in "".join(pieces)
    assert "".join(pieces) == text
    assert collector.text("stdout") == text


def test_streams_keep_separate_partial_characters():
    collector = OutputCollector()
    euro = "\u20ac".encode()
    collector.feed("stdout", euro[:2])
    collector.feed("stderr", b"err ")
    collector.feed("stdout", euro[2:])
    collector.finish()
    assert collector.text("stdout") == "\u20ac"
    assert collector.text("stderr") == "err "
    assert collector.text("output") == "err \u20ac"


def test_invalid_bytes_become_replacement_characters():
    collector = OutputCollector()
    collector.feed("stdout", b"ok \xff\xfe end")
    collector.finish()
    assert collector.text("stdout") == "ok \ufffd\ufffd end"


def test_character_cut_off_at_the_end_becomes_a_replacement_character():
    collector = OutputCollector()
    collector.feed("stdout", "a\u20ac".encode()[:-1])
    collector.finish()
    assert collector.text("stdout") == "a\ufffd"


def test_output_keeps_the_order_in_which_streams_arrived():
    collector = OutputCollector()
    collector.feed("stdout", b"1 ")
    collector.feed("stderr", b"2 ")
    collector.feed("stdout", b"3")
    collector.finish()
    assert collector.text("output") == "1 2 3"
