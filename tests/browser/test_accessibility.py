"""axe-core finds no serious or critical accessibility issue on the main,
snippet and embed pages, on a wide and a phone-sized screen.

axe-core is pinned in tests/browser/axe/ and installed by
`scripts/bootstrap.sh --with-browser`; it is evaluated through the
DevTools protocol, which the pages' CSP does not govern, so nothing is
fetched and the policy stays as served."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.sharing import make_snippet

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def serious_issues(page: Page) -> list[dict[str, object]]:
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing; run scripts/bootstrap.sh --with-browser")
    page.evaluate(AXE.read_text() + "\n;true")
    found = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def check(page: Page, after_run: str) -> None:
    """Checks the page idle and again with output, at two screen sizes."""
    assert serious_issues(page) == []
    page.click("#run")
    expect(page.locator("#output")).to_contain_text(after_run, timeout=10_000)
    assert serious_issues(page) == []
    page.set_viewport_size({"width": 375, "height": 667})
    assert serious_issues(page) == []


def test_the_main_page_has_no_serious_accessibility_issue(page: Page) -> None:
    page.evaluate("window.playground.setLanguage('bash')")
    page.evaluate("c => window.playground.setCode(c)", "echo checked; echo err >&2\n")
    check(page, "checked")


def test_a_snippet_page_has_no_serious_accessibility_issue(page: Page) -> None:
    snippet = make_snippet(page, 'print("snippet checked")\n')
    page.goto(f"/s/{snippet}")
    check(page, "snippet checked")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_an_embed_has_no_serious_accessibility_issue(page: Page, theme: str) -> None:
    snippet = make_snippet(page, 'print("embed checked")\n')
    page.goto(f"/embed/{snippet}?theme={theme}")
    check(page, "embed checked")


def test_the_check_finds_a_planted_issue(page: Page) -> None:
    page.evaluate("document.body.append(document.createElement('input'))")

    assert [issue["id"] for issue in serious_issues(page)] == ["label"]


def test_teacher_and_student_pages_have_no_serious_accessibility_issue(
    page: Page, site_admin: tuple[str, str]
) -> None:
    snippet = make_snippet(page, 'print("collected")\n')
    page.goto("/accounts/login/")
    assert serious_issues(page) == []
    page.fill("#id_username", site_admin[0])
    page.fill("#id_password", site_admin[1])
    page.click("button[type=submit]")
    page.fill("#new-title", "Checked")
    page.click("text=Create")
    page.fill("#add-snippet", snippet)
    page.click("button[value=add]")
    edit = page.url

    for path in (
        edit,
        "/collections/",
        page.locator("#student-link").get_attribute("href"),
    ):
        page.goto(str(path))
        assert serious_issues(page) == [], path
    page.click("text=Start with step 1")
    assert serious_issues(page) == []
