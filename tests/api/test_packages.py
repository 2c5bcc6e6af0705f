"""Piston's package endpoints: anyone may list; only the administrator may
install or remove, and everyone else is told why not."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.test import AsyncClient

from executor.runtimes import Registry, Runtime
from playground.api import packages

ADMIN_KEY = "a-long-administrator-key-for-tests"


@pytest.fixture
def admin(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_ADMIN_KEY", ADMIN_KEY)
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


async def change(method: str, body: object, headers: dict | None = None):
    client = AsyncClient()
    send = client.post if method == "POST" else client.delete
    return await send(
        "/api/v2/packages",
        json.dumps(body),
        content_type="application/json",
        headers=headers or {},
    )


async def test_anyone_may_list_runtimes_and_whether_they_are_installed():
    response = await AsyncClient().get("/api/v2/packages")
    listed = {p["language"]: p for p in response.json()}
    assert listed["python"]["installed"] is True
    assert listed["python"]["language_version"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_changes_without_the_administrator_key_are_403(method, headers, admin):
    response = await change(method, {"language": "bash"}, headers)
    assert response.status_code == 403
    assert "administrator key" in response.json()["message"]


async def test_without_a_configured_key_nobody_may_change(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_ADMIN_KEY", raising=False)
    response = await change("POST", {"language": "bash"}, {"Authorization": "Bearer "})
    assert response.status_code == 403


async def test_bad_bodies_and_unknown_languages_are_refused(admin):
    assert (await change("POST", {"nope": 1}, admin)).status_code == 400
    response = await change("POST", {"language": "intercal"}, admin)
    assert response.status_code == 404 and "intercal" in response.json()["message"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may run apt-get")
async def test_the_administrator_installs_a_runtime(admin):
    response = await change("POST", {"language": "bash"}, admin)  # already there
    assert response.status_code == 200, response.content
    assert response.json()["installed"] is True


class _OneRuntime:
    """A registry of one runtime that needs no Debian package."""

    def __init__(self) -> None:
        runtime = Runtime("empty", None, [], "main.x", ["true"], "", Path("x.toml"))
        self.value = Registry([runtime])

    def __call__(self) -> Registry:
        return self.value

    def cache_clear(self) -> None:
        pass


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may run apt-get")
async def test_the_administrator_removes_a_runtime(admin, monkeypatch):
    monkeypatch.setattr(packages, "registry", _OneRuntime())
    response = await change("DELETE", {"language": "empty"}, admin)
    assert response.status_code == 200, response.content
    assert response.json()["language"] == "empty"


async def test_a_body_nested_too_deep_is_a_400(admin):
    client = AsyncClient()
    body = "[" * 100_000 + "]" * 100_000
    response = await client.post(
        "/api/v2/packages", body, content_type="application/json", headers=admin
    )
    assert response.status_code == 400


def test_removing_a_runtime_keeps_the_packages_another_runtime_needs(monkeypatch):
    def declaring(language: str, *needs: str) -> Runtime:
        return Runtime(language, "1", [], "m", ["m"], "", Path(f"{language}.toml"),
                       packages=list(needs))  # fmt: skip

    kotlin = declaring("kotlin", "kotlin", "openjdk-17-jdk-headless")
    java = declaring("java", "openjdk-17-jdk-headless")
    monkeypatch.setattr(packages, "registry", lambda: Registry([kotlin, java]))
    assert packages._only_theirs(kotlin) == ["kotlin"]
    assert packages._only_theirs(java) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may run apt-get")
async def test_removing_a_runtime_never_drags_away_what_others_need(admin, monkeypatch):
    # python3 has dependents on every host that runs this site (python3-venv,
    # the site's own interpreter): apt's simulation shows them, nothing goes.
    python = Runtime("py", "3", [], "m.py", ["python3"], "", Path("py.toml"),
                     packages=["python3"])  # fmt: skip
    monkeypatch.setattr(packages, "registry", _Fixed(Registry([python])))

    response = await change("DELETE", {"language": "py"}, admin)

    assert response.status_code == 409, response.content
    assert "python3-venv" in response.json()["message"]
    assert Path("/usr/bin/python3").exists()


class _Fixed:
    def __init__(self, value: Registry) -> None:
        self.value = value

    def __call__(self) -> Registry:
        return self.value

    def cache_clear(self) -> None:
        pass
