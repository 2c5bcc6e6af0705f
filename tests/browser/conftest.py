"""A live site (daphne on a free loopback port) and headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def _database() -> None:
    """These tests talk to their own server and its own database; the test
    database, set up while Playwright's loop runs here, would refuse."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ADMIN = ("teacher", "a-long-test-password")


@pytest.fixture(scope="session")
def site_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**os.environ, "PLAYGROUND_VAR_DIR": str(tmp_path_factory.mktemp("var"))}


@pytest.fixture(scope="session")
def site_admin(site_env: dict[str, str], site: str) -> tuple[str, str]:
    env = {**site_env, "DJANGO_SUPERUSER_PASSWORD": ADMIN[1]}
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput",
                    "--username", ADMIN[0], "--email", "t@example.invalid"],
                   cwd=PROJECT, env=env, check=True, capture_output=True)  # fmt: skip
    return ADMIN


@pytest.fixture(scope="session")
def site(site_env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    env = site_env
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                   cwd=PROJECT, env=env, check=True)  # fmt: skip
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "playground.asgi:application",
        ],
        cwd=PROJECT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the site did not start") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# Module scope: sync Playwright runs its own event loop on this thread while it
# is open, which must be gone before the suite's asyncio tests run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing; `make test` installs it")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    context = browser.new_context(base_url=site)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    page.goto("/")
    yield page
    context.close()
