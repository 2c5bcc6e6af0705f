"""The declared runtimes as the site offers them: at least thirty available
here, listed in Piston's shape, every one by `manage.py runtimes`."""

from __future__ import annotations

import subprocess
import sys

from django.test import AsyncClient

from executor import config
from executor.runtimes import Registry
from playground.registry import registry

DECLARED = Registry.load(config.get().runtimes_dir, detect=False).all


async def test_the_api_lists_at_least_thirty_runtimes_in_pistons_shape():
    response = await AsyncClient().get("/api/v2/runtimes")
    listed = response.json()
    assert len(listed) >= 30
    for entry in listed:
        assert {"language", "version", "aliases"} <= set(entry)
        assert isinstance(entry["aliases"], list)
        assert entry["version"][0].isdigit()
    assert {e["language"] for e in listed} == {
        rt.language for rt in registry().installed
    }


async def test_an_unavailable_runtime_is_not_offered(monkeypatch):
    missing = DECLARED[0].language
    offered = [rt for rt in registry().all if rt.language != missing]
    monkeypatch.setattr(
        "playground.api.views.registry", lambda: Registry(offered), raising=True
    )
    listed = (await AsyncClient().get("/api/v2/runtimes")).json()
    assert missing not in {entry["language"] for entry in listed}


def test_manage_py_runtimes_lists_every_runtime_with_state_and_packages():
    done = subprocess.run(
        [sys.executable, "manage.py", "runtimes"],
        cwd=config.PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    for runtime in DECLARED:
        row = next(line for line in lines if line.split()[0] == runtime.language)
        assert "available" in row
        assert all(package in row for package in runtime.packages)
    assert lines[-1].startswith(f"{len(DECLARED)} of {len(DECLARED)} runtimes")


def test_every_alias_names_one_runtime_only():
    seen: dict[str, str] = {}
    for runtime in DECLARED:
        for name in runtime.names():
            assert name not in seen, f"{name} is {seen.get(name)} and {runtime}"
            seen[name] = runtime.language


def test_every_editor_mode_has_highlighting_in_the_page():
    modes = (config.PROJECT_DIR / "frontend/src/modes.js").read_text()
    table = modes[modes.index("export const MODES") :]
    for runtime in DECLARED:
        assert f"\n  {runtime.editor_mode}: " in table, runtime.path.name
