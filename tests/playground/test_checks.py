"""`manage.py check` reports each missing host requirement with a stable id."""

from __future__ import annotations

import os

import pytest
from django.core.checks import Error

from executor import config
from executor.sandbox import launch, zygote
from playground.checks import host_requirements
from tests.executor.test_fail_closed import unusable_cgroup_version


@pytest.fixture
def settings_from(monkeypatch):
    def apply(**env: str) -> list[Error]:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        config.get.cache_clear()
        return host_requirements(None)

    yield apply
    config.get.cache_clear()


def test_this_host_meets_every_requirement(settings_from):
    assert settings_from() == []


def test_a_setting_that_does_not_parse_is_reported(settings_from):
    errors = settings_from(PLAYGROUND_MEMORY_BYTES="lots")
    assert [e.id for e in errors] == ["playground.E001"]
    assert "PLAYGROUND_MEMORY_BYTES" in errors[0].msg


def test_running_without_cgroups_is_a_warning(settings_from):
    messages = settings_from(PLAYGROUND_CGROUP="none")
    assert [m.id for m in messages] == ["playground.W001"]
    assert "per process" in messages[0].msg


def test_missing_cgroup_controllers_are_reported(settings_from):
    errors = settings_from(PLAYGROUND_CGROUP=unusable_cgroup_version())
    assert [e.id for e in errors] == ["playground.E003"]
    assert "memory, pids and cpu" in errors[0].msg


def test_a_runtime_file_that_does_not_validate_is_reported(settings_from, tmp_path):
    (tmp_path / "broken.toml").write_text('language = "x"\ncolour = "red"\n')
    errors = settings_from(PLAYGROUND_RUNTIMES_DIR=str(tmp_path))
    assert [e.id for e in errors] == ["playground.E005"]
    assert "broken.toml" in errors[0].msg and "colour" in errors[0].msg


def test_a_launcher_that_is_not_built_is_reported(settings_from, monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "LAUNCHER", tmp_path / "playground-launcher")
    errors = settings_from()
    assert [e.id for e in errors] == ["playground.E007"]
    assert "not built" in errors[0].msg and "make install" in errors[0].hint


def test_a_launcher_older_than_its_sources_is_reported(settings_from, monkeypatch,
                                                       tmp_path):  # fmt: skip
    binary = tmp_path / "playground-launcher"
    binary.write_bytes(b"")
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    os.utime(binary, (0, 0))
    monkeypatch.setattr(launch, "LAUNCHER", binary)
    errors = settings_from()
    assert [e.id for e in errors] == ["playground.E007"]
    assert "older than its sources" in errors[0].msg


def test_a_zygote_that_is_not_built_is_a_warning(settings_from, monkeypatch, tmp_path):
    monkeypatch.setattr(zygote, "EXTENSION", tmp_path / "playground-zygote.so")
    messages = settings_from()
    assert [m.id for m in messages] == ["playground.W003"]
    assert "not built" in messages[0].msg and "make install" in messages[0].hint
    assert settings_from(PLAYGROUND_ZYGOTE="off") == []
    (error,) = settings_from(PLAYGROUND_ZYGOTE="maybe")
    assert error.id == "playground.E001" and "PLAYGROUND_ZYGOTE" in error.msg
