"""The language picker: every available runtime with its version, each with
its starter program and its own highlighting, and the last choice kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from playground.registry import registry

pytestmark = pytest.mark.browser


def test_the_picker_lists_every_available_runtime_with_its_version(
    page: Page,
) -> None:
    options = page.locator("#language option").all_inner_texts()
    installed = registry().installed
    assert len(installed) >= 30
    assert sorted(options) == sorted(f"{rt.language} {rt.version}" for rt in installed)


def test_each_language_has_its_starter_and_its_highlighting(page: Page) -> None:
    for runtime in registry().installed:
        page.select_option("#language", value=runtime.language)
        code = page.evaluate("() => window.playground.getCode()")
        assert code == runtime.starter, runtime.language
        # Highlighted code is split into styled spans; plain text is not.
        spans = page.locator(".cm-content .cm-line span")
        assert spans.count() > 0, f"{runtime.language} has no highlighting"


def test_the_last_language_chosen_comes_back(page: Page) -> None:
    page.select_option("#language", value="rust")
    page.reload()

    expect(page.locator("#language")).to_have_value("rust")
    rust = next(rt for rt in registry().installed if rt.language == "rust")
    assert page.evaluate("() => window.playground.getCode()") == rust.starter
