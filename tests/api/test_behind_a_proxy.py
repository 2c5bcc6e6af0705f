"""Behind a load balancer every request comes from the balancer's address:
the server started as docs/deployment.md says (`--proxy-headers`) takes the
client's address from X-Forwarded-For, so per-client limits stay per client
instead of one client's runs using up everyone's."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.servers import daphne

DOCS = PROJECT / "docs" / "deployment.md"


@pytest.fixture
def proxied_site(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "PLAYGROUND_VAR_DIR": str(tmp_path),
           "PLAYGROUND_MAX_RUNS_PER_CLIENT": "1"}  # fmt: skip
    env.pop("PLAYGROUND_REDIS_URL", None)
    with daphne(env, "--proxy-headers") as (port, _):
        yield f"127.0.0.1:{port}"


def post(site: str, forwarded_for: str, source: str) -> int:
    body = {"language": "bash", "version": "*", "files": [{"content": source}]}
    connection = http.client.HTTPConnection(site, timeout=30)
    try:
        connection.request("POST", "/api/v2/execute", json.dumps(body),
                           {"Content-Type": "application/json",
                            "X-Forwarded-For": forwarded_for})  # fmt: skip
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_documented_daphne_command_reads_the_forwarded_address():
    assert "playground.serve --proxy-headers" in DOCS.read_text()


def hold_a_slot(site: str, forwarded_for: str) -> None:
    """Run a sleeper as this client; a probe of the test may take the slot
    first, and then this one is refused and tries again."""
    deadline = time.monotonic() + 30
    while post(site, forwarded_for, "sleep 3") == 429:
        assert time.monotonic() < deadline, "the sleeper never got a slot"
        time.sleep(0.05)


def test_one_clients_runs_do_not_use_up_anothers_behind_a_proxy(proxied_site):
    first = threading.Thread(target=hold_a_slot, args=(proxied_site, "192.0.2.1"))
    first.start()
    try:
        deadline = time.monotonic() + 30
        while post(proxied_site, "192.0.2.1", "true") != 429:
            assert time.monotonic() < deadline, "the first run never held its slot"
            time.sleep(0.05)

        assert post(proxied_site, "192.0.2.2", "echo mine") == 200
    finally:
        first.join()
