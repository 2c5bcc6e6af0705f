"""The build gates bite: each fails on a deliberately bad change."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
VENV = PROJECT / ".venv" / "bin"

CONFIG = str(PROJECT / "pyproject.toml")
BAD = {
    "ruff": ("import os\n\nx = 1\n" + "y = '" + "z" * 100 + "'\n",
             ["ruff", "check", "--no-cache", "--config", CONFIG]),
    "mypy": ("def untyped(a):\n    return a\n",
             ["mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null"]),
    "bandit": ("import subprocess\nsubprocess.call(input(), shell=True)\n",
               ["bandit", "-q"]),
}  # fmt: skip


PROJECT_COMMANDS = {
    "ruff": ["ruff", "check", "--no-cache", "."],
    "mypy": ["mypy", "--cache-dir", "/dev/null"],
    "bandit": ["bandit", "-q", "-r", "executor", "playground"],
}


@pytest.mark.parametrize("gate", sorted(BAD))
def test_gate_fails_on_a_bad_change(gate: str, tmp_path: Path) -> None:
    source, command = BAD[gate]
    bad = tmp_path / "bad.py"
    bad.write_text(source)

    done = subprocess.run([str(VENV / command[0]), *command[1:], str(bad)],
                          capture_output=True, text=True, check=False)  # fmt: skip

    assert done.returncode != 0, done.stdout + done.stderr


@pytest.mark.parametrize("gate", sorted(BAD))
def test_gate_passes_the_project(gate: str) -> None:
    command = PROJECT_COMMANDS[gate]
    done = subprocess.run([str(VENV / command[0]), *command[1:]], cwd=PROJECT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
