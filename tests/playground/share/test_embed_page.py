"""The embed page's URL options: applied when valid, the defaults otherwise
(a reader cannot fix someone else's page), and autorun off unless asked."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.playground.share.conftest import payload, share

pytestmark = pytest.mark.database


@pytest.fixture
def snippet_id(browser_client: Client) -> str:
    body = payload(options={"theme": "dark", "hide": ["stdin"]})
    return str(share(browser_client, body).json()["id"])


def embed(client: Client, snippet_id: str, query: str = "") -> tuple[str, dict]:
    html = client.get(f"/embed/{snippet_id}?{query}").content.decode()
    start = html.index('<script id="page-data" type="application/json">')
    data = json.loads(html[start:].split(">", 1)[1].split("</script>", 1)[0])
    return html, data["embed"]


def test_defaults_come_from_the_snippet_and_autorun_is_off(
    client: Client, snippet_id: str
) -> None:
    html, options = embed(client, snippet_id)

    assert options == {"theme": "dark", "readonly": False, "autorun": False,
                       "hide": ["stdin"], "height_auto": False}  # fmt: skip
    assert '<html lang="en" data-theme="dark">' in html
    assert 'class="embed-stdin" hidden' in html


def test_url_options_override_the_snippet(client: Client, snippet_id: str) -> None:
    query = "theme=light&readonly=1&autorun=1&hide=editor,output&height=auto"
    html, options = embed(client, snippet_id, query)

    assert options == {"theme": "light", "readonly": True, "autorun": True,
                       "hide": ["editor", "output"], "height_auto": True}  # fmt: skip
    assert 'data-theme="light"' in html
    assert 'class="embed-editor" hidden' in html
    assert 'class="embed-stdin" hidden' not in html


def test_auto_theme_leaves_the_choice_to_the_reader(
    client: Client, snippet_id: str
) -> None:
    html, options = embed(client, snippet_id, "theme=auto")

    assert options["theme"] == "auto"
    assert "data-theme" not in html.split("<head>", 1)[0]


def test_bad_values_fall_back_to_the_defaults(client: Client, snippet_id: str) -> None:
    _, options = embed(client, snippet_id, "theme=purple&hide=menu,stdin&autorun=no")

    assert options["theme"] == "auto"
    assert options["hide"] == ["stdin"]
    assert options["autorun"] is False


def test_the_embed_sets_no_cookie(client: Client, snippet_id: str) -> None:
    # Browsers often drop third-party cookies; the embed must not need one.
    response = client.get(f"/embed/{snippet_id}")

    assert not response.cookies
