"""The page in a real browser: a person runs programs, types into them,
sees hostile output as text, and stops runaway code."""

from __future__ import annotations

import time

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


def test_ansi_colours_show_as_colours_and_other_escapes_vanish(page: Page) -> None:
    write_program(
        page,
        "python",
        'print("\\033[31mred\\033[0m plain \\033[2J\\033]0;title\\007end")\n',
    )
    page.click("#run")

    expect(page.locator("#status")).to_contain_text(
        "Exited with code 0", timeout=10_000
    )
    red = page.locator("#output span", has_text="red").last
    assert "rgb" in red.evaluate("node => getComputedStyle(node).color")
    assert red.evaluate("node => node.style.color") != ""
    text = page.locator("#output").inner_text()
    assert "red plain end" in text
    assert "\x1b" not in text and "title" not in text


def test_a_million_lines_are_capped_and_the_page_stays_responsive(page: Page) -> None:
    write_program(page, "python", "for i in range(10**6):\n    print(i)\n")
    page.click("#run")

    # While the output pours in, the page's main thread must keep answering.
    slowest = 0.0
    while "Output limit" not in page.inner_text("#status"):
        started = time.monotonic()
        page.evaluate("document.getElementById('output').childElementCount")
        slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.5, "the page froze while rendering output"
        page.wait_for_timeout(50)

    expect(page.locator("#output")).to_contain_text("Output cut here")
    page.fill("#stdin", "still typing")
    assert page.input_value("#stdin") == "still typing"


def test_ctrl_d_closes_the_program_input(page: Page) -> None:
    write_program(
        page, "python", "import sys\ndata = sys.stdin.read()\nprint('got', len(data))\n"
    )
    page.click("#run")
    expect(page.locator("#input")).to_be_enabled(timeout=10_000)

    page.fill("#input", "abc")
    page.press("#input", "Enter")
    page.press("#input", "Control+d")

    expect(page.locator("#output")).to_contain_text("got 4", timeout=10_000)


def test_ctrl_enter_in_the_editor_runs(page: Page) -> None:
    write_program(page, "bash", 'echo "ran by keyboard"\n')
    page.click("#editor .cm-content")
    page.keyboard.press("Control+Enter")

    expect(page.locator("#output")).to_contain_text("ran by keyboard", timeout=10_000)


def test_runs_from_the_page_and_the_api_appear_in_the_admin(
    page: Page, site_admin: tuple[str, str]
) -> None:
    write_program(page, "bash", 'echo "audited"\n')
    page.click("#run")
    expect(page.locator("#output")).to_contain_text("audited", timeout=10_000)
    response = page.request.post(
        "/api/v2/execute",
        data={"language": "python", "files": [{"content": "print(1)"}]},
    )
    assert response.ok

    page.goto("/admin/login/?next=/admin/playground/runrecord/")
    page.fill("#id_username", site_admin[0])
    page.fill("#id_password", site_admin[1])
    page.click("input[type=submit]")

    rows = page.locator("#result_list tbody tr")  # newest first
    expect(rows.first).to_contain_text("http")
    api, from_page = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "python" in api and "address" in api
    assert "page" in from_page and "bash" in from_page and "session" in from_page
    expect(page.locator("#changelist-filter")).to_contain_text("By language")
