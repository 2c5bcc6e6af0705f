"""The page in a real browser against a site whose runs execute on two Celery
workers: output streams, typed input reaches the program, Stop stops it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from executor import relay
from tests.browser.test_page import write_program
from tests.distributed.conftest import (
    SHARED_REDIS,
    Site,
    WorkerProcess,
    forget,
    no_process_left,  # noqa: F401 (autouse: stops what a failed test left)
    ping,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def distributed_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ping(SHARED_REDIS)
    settings = relay.Settings(SHARED_REDIS, f"page-test-{secrets.token_hex(4)}:", 30)
    logs: Path = tmp_path_factory.mktemp("page-workers")
    workers = [WorkerProcess(settings, logs / f"w{i}.log") for i in (1, 2)]
    site = None
    try:
        for worker in workers:
            worker.wait_ready()
        site = Site(settings, tmp_path_factory.mktemp("page-site"))
        yield site
    finally:
        if site is not None:
            site.stop()
        for worker in workers:
            worker.stop()
        forget(settings.url, settings.prefix)


@pytest.fixture
def page_on_workers(browser: Browser, distributed_site: Site) -> Iterator[Page]:
    context = browser.new_context(base_url=distributed_site.url)
    page = context.new_page()
    page.goto("/")
    yield page
    context.close()


def test_the_page_streams_takes_input_and_stops_on_a_worker(
    page_on_workers: Page,
) -> None:
    page = page_on_workers
    write_program(page, "python", (
        "import time\nname = input('Name? ')\nprint(f'Hello, {name}!')\n"
        "while True:\n    time.sleep(0.1)\n"
    ))  # fmt: skip
    page.click("#run")

    output = page.locator("#output")
    expect(output).to_contain_text("Name?", timeout=15_000)
    page.fill("#input", "Ada")
    page.press("#input", "Enter")
    expect(output).to_contain_text("Hello, Ada!", timeout=10_000)

    page.click("#stop")
    expect(page.locator("#status")).to_contain_text("Stopped", timeout=5_000)
    expect(page.locator("#run")).to_be_enabled()
