"""The page in a real browser: a person runs programs, types into them,
sees hostile output as text, and stops runaway code."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&amp;"]


def write_program(page: Page, language: str, code: str) -> None:
    page.select_option("#language", value=language)
    page.evaluate("code => window.playground.setCode(code)", code)


def test_interactive_python_greets_by_name(page: Page) -> None:
    write_program(
        page,
        "python",
        'name = input("What is your name? ")\nprint(f"Hello, {name}!")\n',
    )
    page.click("#run")

    output = page.locator("#output")
    expect(output).to_contain_text("What is your name?", timeout=10_000)
    page.fill("#input", "Ada")
    page.press("#input", "Enter")

    expect(output).to_contain_text("Hello, Ada!", timeout=10_000)
    expect(page.locator("#status")).to_contain_text("Exited with code 0")


def test_hostile_output_is_shown_as_text(page: Page) -> None:
    lines = "\n".join(f"print({line!r})" for line in HOSTILE)
    write_program(page, "python", lines + "\n")
    page.click("#run")

    expect(page.locator("#status")).to_contain_text(
        "Exited with code 0", timeout=10_000
    )
    text = page.locator("#output").inner_text()
    for line in HOSTILE:
        assert line in text
    assert page.locator("#output img, #output script").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_stop_ends_an_endless_loop(page: Page) -> None:
    write_program(page, "python", "while True:\n    pass\n")
    page.click("#run")
    expect(page.locator("#stop")).to_be_enabled(timeout=10_000)
    page.wait_for_timeout(300)

    page.click("#stop")
    expect(page.locator("#status")).to_contain_text("Stopped", timeout=2_000)
    expect(page.locator("#run")).to_be_enabled()


def test_output_streams_while_the_program_runs(page: Page) -> None:
    write_program(
        page,
        "c",
        "#include <stdio.h>\n#include <unistd.h>\n"
        'int main(void) { puts("first"); sleep(2); puts("second"); }\n',
    )
    page.click("#run")

    output = page.locator("#output")
    expect(output).to_contain_text("first", timeout=10_000)
    assert "second" not in output.inner_text()
    expect(output).to_contain_text("second", timeout=5_000)
