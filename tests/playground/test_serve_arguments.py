"""The web server's own options refuse durations it cannot use, saying so."""

import subprocess
import sys

import pytest

from tests.conftest import PROJECT


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_duration_must_be_a_positive_number_of_seconds(value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "playground.serve", "--shutdown-timeout", value,
         "playground.asgi:application"],
        cwd=PROJECT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{value!r} is not a number of seconds greater than zero" in done.stderr
