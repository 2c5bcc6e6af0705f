"""Sharing in a real browser: a link opens the same code anywhere, edits
become forks, teachers build collections that students step through, and a
phone-sized screen keeps Run in reach."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.sharing import make_snippet

pytestmark = pytest.mark.browser


def write_program(page: Page, language: str, code: str) -> None:
    page.select_option("#language", value=language)
    page.evaluate("code => window.playground.setCode(code)", code)


def share_from_page(page: Page) -> str:
    page.click("#share")
    link = page.locator("#share-link")
    expect(link).to_be_visible(timeout=5_000)
    return link.input_value()


def test_a_shared_link_runs_in_a_fresh_browser(
    page: Page, browser: Browser, site: str
) -> None:
    write_program(page, "python", 'import sys\nprint("shared", sys.argv[1:])\n')
    page.fill("#stdin", "given up front")
    link = share_from_page(page)
    assert re.fullmatch(rf"{site}/s/[a-z0-9]{{12}}", link)
    assert page.url == link  # the address bar shows the permanent link

    fresh = browser.new_context()
    other = fresh.new_page()
    other.goto(link)
    expect(other.locator("#stdin")).to_have_value("given up front")
    other.click("#run")
    expect(other.locator("#output")).to_contain_text("shared []", timeout=10_000)
    assert other.evaluate("window.playground.getCode()").startswith("import sys")
    fresh.close()


def test_sharing_the_same_code_twice_gives_the_same_link(page: Page) -> None:
    write_program(page, "bash", "echo same\n")
    first = share_from_page(page)
    page.goto("/")
    write_program(page, "bash", "echo same\n")

    assert share_from_page(page) == first


def test_editing_a_shared_snippet_makes_a_fork_that_links_its_parent(
    page: Page,
) -> None:
    write_program(page, "bash", "echo original\n")
    parent = share_from_page(page)
    page.goto(parent)

    page.evaluate("code => window.playground.setCode(code)", "echo edited\n")
    fork = share_from_page(page)
    expect(page.locator("#share-status")).to_contain_text("fork of")
    assert fork != parent

    page.goto(fork)
    expect(page.locator("#parent-link")).to_have_attribute(
        "href", parent.removeprefix(page.url.split("/s/")[0])
    )
    page.click("#parent-link")
    expect(page).to_have_url(parent)
    assert page.evaluate("window.playground.getCode()") == "echo original\n"


def test_a_teacher_builds_a_collection_and_a_student_walks_it(
    page: Page, browser: Browser, site: str, site_admin: tuple[str, str]
) -> None:
    first = make_snippet(page, 'print("step one")\n')
    second = make_snippet(page, 'print("step two")\n')

    page.goto("/accounts/login/?next=/collections/")
    page.fill("#id_username", site_admin[0])
    page.fill("#id_password", site_admin[1])
    page.click("button[type=submit]")
    page.fill("#new-title", "Printing")
    page.click("text=Create")
    for snippet, words in ((second, "prints two"), (first, "prints one")):
        page.fill("#add-snippet", f"{site}/s/{snippet}")
        page.fill("#add-description", words)
        page.click("button[value=add]")
    page.click("text=Move step 2 up")
    student_link = page.locator("#student-link").get_attribute("href")

    student = browser.new_context(base_url=site).new_page()
    student.goto(str(student_link))
    student.click("text=Start with step 1")
    expect(student.locator("#step-description")).to_have_text("prints one")
    student.click("#run")
    expect(student.locator("#output")).to_contain_text("step one", timeout=10_000)
    student.click("text=Next step")
    expect(student.locator("#step-description")).to_have_text("prints two")
    student.click("#run")
    expect(student.locator("#output")).to_contain_text("step two", timeout=10_000)
    assert student.locator("a[rel=next]").count() == 0
    student.context.close()


def test_a_phone_sized_screen_shows_tabs_with_run_in_reach(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 667})
    write_program(page, "bash", "for i in $(seq 60); do echo line $i; done\n")

    expect(page.locator(".tabs")).to_be_visible()
    expect(page.locator("#output")).to_be_hidden()
    page.click(".tab[data-tab=input]")
    expect(page.locator("#stdin")).to_be_visible()
    expect(page.locator("#editor")).to_be_hidden()

    page.click(".tab[data-tab=code]")
    page.mouse.wheel(0, 2000)
    expect(page.locator("#run")).to_be_in_viewport()
    page.click("#run")
    expect(page.locator("#output")).to_be_visible()
    expect(page.locator(".tab[data-tab=output]")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("#output")).to_contain_text("line 60", timeout=10_000)


def test_run_and_stop_have_shortcuts_named_in_their_tooltips(page: Page) -> None:
    assert "Ctrl+Enter" in (page.get_attribute("#run", "title") or "")
    assert "Ctrl+Shift+Enter" in (page.get_attribute("#stop", "title") or "")
    write_program(page, "python", "while True:\n    pass\n")

    page.click("#editor .cm-content")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#stop")).to_be_enabled(timeout=10_000)
    page.wait_for_timeout(300)
    page.keyboard.press("Control+Shift+Enter")

    expect(page.locator("#status")).to_contain_text("Stopped", timeout=5_000)


def test_escape_then_tab_leaves_the_editor(page: Page) -> None:
    page.click("#editor .cm-content")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")

    focused = page.evaluate("document.activeElement.id")
    assert focused and not page.locator("#editor :focus").count()
