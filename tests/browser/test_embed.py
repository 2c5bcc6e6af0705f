"""Embeds inside a page of another origin: autorun, interactive input, Stop,
theme, automatic height, hostile output as text, the <pre> upgrade script,
and "Open in playground" carrying the edited code as a fork."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from tests.browser.sharing import make_snippet, other_origin

pytestmark = pytest.mark.browser

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&amp;"]
DARK_PAGE_BG = "rgb(22, 24, 28)"


def parent_page(site: str, body: str) -> str:
    return (f"<!doctype html><html><head><title>Docs</title>"
            f'<script src="{site}/static/playground/playground-embed.js" defer>'
            f"</script></head><body><h1>Docs</h1>{body}</body></html>")  # fmt: skip


def frame_tag(site: str, snippet: str, query: str) -> str:
    return (f'<iframe id="frame" title="example" width="600" '
            f'src="{site}/embed/{snippet}?{query}"></iframe>')  # fmt: skip


@pytest.fixture
def docs(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context; the test opens it on the other origin."""
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    context.close()


def open_docs(docs: Page, origin: str) -> FrameLocator:
    docs.goto(f"{origin}/docs")
    return docs.frame_locator("#frame")


def test_an_embed_on_another_origin_autoruns_takes_input_and_sizes_itself(
    page: Page, docs: Page, site: str
) -> None:
    snippet = make_snippet(page, 'name = input("Name? ")\nprint(f"Hello, {name}!")\n')
    query = "autorun=1&height=auto&theme=dark"
    body = parent_page(site, frame_tag(site, snippet, query))

    with other_origin({"/docs": body}) as origin:
        frame = open_docs(docs, origin)
        output = frame.locator("#output")
        expect(output).to_contain_text("Name?", timeout=10_000)
        frame.locator("#input").fill("Ada")
        frame.locator("#input").press("Enter")
        expect(output).to_contain_text("Hello, Ada!", timeout=10_000)
        # Measured once the run has ended and the input row is gone.
        expect(frame.locator("#status")).to_contain_text("Exited with code 0")
        expect(frame.locator("#input-row")).to_be_hidden()

        background = frame.locator("body").evaluate(
            "b => getComputedStyle(b).backgroundColor"
        )
        assert background == DARK_PAGE_BG
        inner = frame.locator("html").evaluate(
            "h => Math.ceil(h.getBoundingClientRect().height)"
        )
        iframe = docs.locator("#frame")
        expect(iframe).to_have_attribute("style", f"height: {inner}px;")
        assert docs.evaluate("location.origin") != site


def test_stop_ends_a_runaway_program_inside_the_embed(
    page: Page, docs: Page, site: str
) -> None:
    snippet = make_snippet(page, "while True:\n    pass\n")
    body = parent_page(site, frame_tag(site, snippet, "autorun=1"))

    with other_origin({"/docs": body}) as origin:
        frame = open_docs(docs, origin)
        expect(frame.locator("#stop")).to_be_enabled(timeout=10_000)
        docs.wait_for_timeout(300)
        frame.locator("#stop").click()
        expect(frame.locator("#status")).to_contain_text("Stopped", timeout=5_000)
        expect(frame.locator("#run")).to_be_enabled()


def test_hostile_output_stays_text_inside_the_embed(
    page: Page, docs: Page, site: str
) -> None:
    code = "\n".join(f"print({line!r})" for line in HOSTILE) + "\n"
    snippet = make_snippet(page, code)
    body = parent_page(site, frame_tag(site, snippet, "autorun=1&theme=light"))

    with other_origin({"/docs": body}) as origin:
        frame = open_docs(docs, origin)
        expect(frame.locator("#status")).to_contain_text(
            "Exited with code 0", timeout=10_000
        )
        text = frame.locator("#output").inner_text()
        assert all(line in text for line in HOSTILE)
        assert frame.locator("#output img, #output script").count() == 0
        assert docs.dialogs == []  # type: ignore[attr-defined]


def test_autorun_is_off_by_default_and_options_apply(
    page: Page, docs: Page, site: str
) -> None:
    snippet = make_snippet(page, 'print("not yet")\n')
    body = parent_page(site, frame_tag(site, snippet, "readonly=1&hide=stdin"))

    with other_origin({"/docs": body}) as origin:
        frame = open_docs(docs, origin)
        expect(frame.locator("#run")).to_be_enabled()
        expect(frame.locator("#stdin")).to_be_hidden()
        frame.locator("#editor .cm-content").click()
        docs.keyboard.type("oops")
        docs.wait_for_timeout(300)
        assert frame.locator("#output").inner_text() == ""
        code = frame.locator("#editor .cm-content").inner_text()
        assert "oops" not in code and 'print("not yet")' in code
        expect(frame.locator("#language")).to_be_disabled()


def test_marked_pre_elements_become_embeds_and_stay_as_fallback(
    page: Page, docs: Page, site: str
) -> None:
    snippet = make_snippet(page, 'print("from a pre")\n')
    good = f'<pre id="good" data-playground="{snippet}" data-autorun>print(1)</pre>'
    bad = '<pre id="bad" data-playground="nosuchsnippet1">print("kept")</pre>'
    pres = good + bad
    body = parent_page(site, pres)

    with other_origin({"/docs": body}) as origin:
        docs.goto(f"{origin}/docs")
        upgraded = docs.locator("#good + iframe")
        expect(upgraded).to_be_visible(timeout=10_000)
        expect(docs.locator("#good")).to_be_hidden()
        inner = docs.frame_locator("#good + iframe")
        expect(inner.locator("#output")).to_contain_text("from a pre", timeout=10_000)
        # A snippet that cannot load never replaces its <pre>.
        expect(docs.locator("#bad")).to_be_visible()
        expect(docs.locator("#bad + iframe")).to_be_hidden()


def test_open_in_playground_carries_the_edited_code_as_a_fork(
    page: Page, docs: Page, site: str
) -> None:
    snippet = make_snippet(page, 'print("original")\n')
    body = parent_page(site, frame_tag(site, snippet, "height=auto"))

    with other_origin({"/docs": body}) as origin:
        frame = open_docs(docs, origin)
        expect(frame.locator("#run")).to_be_enabled()
        frame.locator("#editor .cm-content").click()
        docs.keyboard.press("Control+a")
        docs.keyboard.type('print("edited")')
        with docs.context.expect_page() as opened:
            frame.locator("#open-in-playground").click()
        playground = opened.value
        playground.wait_for_load_state()
        expect(playground.locator("#fork-origin")).to_contain_text(snippet)
        assert playground.evaluate("window.playground.getCode()") == 'print("edited")'

        playground.click("#share")
        expect(playground.locator("#share-status")).to_contain_text(
            f"fork of {snippet}", timeout=5_000
        )


@pytest.mark.parametrize(
    "state",
    [None, 5, {"files": "abc"}, {"language": "python", "version": "3",
                                 "files": [{"content": {"a": 1}}]}],
    ids=["null", "number", "files-not-a-list", "content-not-text"],
)  # fmt: skip
def test_a_fork_link_that_is_no_embed_state_shows_the_snippet(
    page: Page, state: object
) -> None:
    snippet = make_snippet(page, 'print("saved")\n')
    text = json.dumps(state).encode()
    fragment = base64.urlsafe_b64encode(text).decode().rstrip("=")

    page.goto(f"/s/{snippet}#fork={fragment}")

    expect(page.locator("#share-status")).to_contain_text("could not be read")
    expect(page.locator("#fork-origin")).to_be_hidden()
    assert page.evaluate("window.playground.getCode()") == 'print("saved")\n'
