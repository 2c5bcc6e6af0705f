"""docker-compose.yml and the Dockerfile: the file validates with the Compose
client, the web container holds no privilege, the worker only those its
comments explain, and the image installs every runtime's toolchain."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT

# The compose file refuses to render without a key; any value does for a check.
CHECK_ENV = {"PLAYGROUND_SECRET_KEY": "only-for-the-config-check"}
WORKER_CAPABILITIES = {"SYS_ADMIN", "SETUID", "SETGID", "KILL"}


def compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    client = shutil.which("docker-compose")
    if client is None:
        pytest.fail("docker-compose is missing; scripts/bootstrap.sh "
                    "--with-browser installs it")  # fmt: skip
    return subprocess.run(
        [client, "-f", str(PROJECT / "docker-compose.yml"), *args],
        cwd=PROJECT, capture_output=True, text=True, check=False,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **env},
    )  # fmt: skip


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    done = compose("config", **CHECK_ENV)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def test_the_compose_file_validates():
    done = compose("config", "--quiet", **CHECK_ENV)
    assert done.returncode == 0, done.stderr


def test_the_compose_file_demands_a_secret_key():
    done = compose("config", "--quiet")
    assert done.returncode != 0
    assert "PLAYGROUND_SECRET_KEY" in done.stderr


def test_it_runs_web_worker_redis_and_postgres(services: dict[str, Any]):
    assert set(services) == {"web", "worker", "redis", "postgres"}
    for role in ("web", "worker"):
        env = services[role]["environment"]
        assert env["PLAYGROUND_REDIS_URL"].startswith("redis://redis:")
    assert services["web"]["environment"]["PLAYGROUND_DATABASE_URL"].startswith(
        "postgres://"
    )


def test_the_worker_holds_no_secret_of_the_site(services: dict[str, Any]):
    # The worker runs hostile code; were a sandbox escaped, the site's key
    # (sessions, admin) and its database should still be out of reach.
    env = services["worker"]["environment"]
    assert "PLAYGROUND_SECRET_KEY" not in env
    assert "PLAYGROUND_DATABASE_URL" not in env
    worker_nets = set(services["worker"]["networks"])
    assert worker_nets and not worker_nets & set(services["postgres"]["networks"])
    assert worker_nets & set(services["redis"]["networks"])
    assert set(services["web"]["networks"]) >= set(services["postgres"]["networks"])


def test_the_web_container_gets_no_privilege(services: dict[str, Any]):
    web = services["web"]
    assert web["cap_drop"] == ["ALL"] and "cap_add" not in web
    assert web["security_opt"] == ["no-new-privileges:true"]
    assert web["read_only"] is True and web["user"] == "web"
    assert not web.get("privileged") and "devices" not in web
    for port in web["ports"]:
        assert str(port).startswith("127.0.0.1:") or port.get("host_ip") == (
            "127.0.0.1"
        )


def test_the_worker_gets_only_the_privileges_it_documents(services: dict[str, Any]):
    worker = services["worker"]
    assert worker["cap_drop"] == ["ALL"]
    assert set(worker["cap_add"]) == WORKER_CAPABILITIES
    assert not worker.get("privileged")
    for shared in ("network_mode", "pid", "ipc", "userns_mode", "devices"):
        assert shared not in worker, f"the worker shares the host's {shared}"
    text = (PROJECT / "docker-compose.yml").read_text()
    for grant in [*WORKER_CAPABILITIES, *worker["security_opt"]]:
        name = grant.split("=")[0] + ("=" if "=" in grant else "")
        assert re.search(rf"^#.*\b{re.escape(name)}", text, re.M), (
            f"{grant} is granted without a comment saying why"
        )


def test_the_image_installs_every_runtime_toolchain():
    # The image runs the same installer as `make runtimes`, over the same files.
    dockerfile = (PROJECT / "Dockerfile").read_text()
    steps = [line for line in dockerfile.splitlines() if not line.startswith("#")]
    assert "COPY runtimes/ runtimes/" in steps
    assert "COPY scripts/runtimes.sh scripts/" in steps
    assert any(re.match(r"RUN bash scripts/runtimes\.sh\b", line) for line in steps)
    script = (PROJECT / "scripts" / "runtimes.sh").read_text()
    assert 'glob("*.toml")' in script and "apt-get" in script


def test_the_worker_entrypoint_fails_closed():
    script = PROJECT / "docker" / "worker-entrypoint.sh"
    assert os.access(script, os.X_OK)
    assert "set -eu" in script.read_text()
