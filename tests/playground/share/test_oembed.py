"""oEmbed answers for snippet and embed links; previews for chat apps."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.playground.share.conftest import payload, share

pytestmark = pytest.mark.database


@pytest.fixture
def snippet_id(browser_client: Client) -> str:
    return str(share(browser_client, payload('print("<hi>")\n')).json()["id"])


@pytest.mark.parametrize(("kind", "query"), [("s", ""), ("embed", "?theme=dark")])
def test_oembed_answers_for_snippet_and_embed_links(
    client: Client, snippet_id: str, kind: str, query: str
) -> None:
    url = f"http://testserver/{kind}/{snippet_id}?theme=dark"
    answer = client.get("/oembed", {"url": url, "maxwidth": "400"}).json()

    assert answer["type"] == "rich" and answer["version"] == "1.0"
    assert f'src="http://testserver/embed/{snippet_id}{query}"' in answer["html"]
    assert answer["width"] == 400 and answer["height"] == 360


def test_oembed_keeps_an_embed_links_options_and_drops_the_rest(
    client: Client, snippet_id: str
) -> None:
    query = (
        "theme=dark&readonly=1&hide=stdin,editor&height=auto&autorun"
        "&theme=%22%3E%3Cscript%3E&hide=menu&next=//elsewhere.invalid"
    )
    url = f"http://testserver/embed/{snippet_id}?{query}"
    html = client.get("/oembed", {"url": url}).json()["html"]

    kept = (
        "theme=dark&amp;readonly=1&amp;hide=stdin%2Ceditor&amp;height=auto&amp;autorun="
    )
    assert f'src="http://testserver/embed/{snippet_id}?{kept}"' in html
    assert "script" not in html and "elsewhere" not in html and "menu" not in html


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://elsewhere.invalid/s/abcdefghijkl", 404),
        ("http://testserver/s/nosuchsnippet", 404),
        ("http://[::1/s/abcdefghijkl", 404),
        ("", 404),
    ],  # fmt: skip
)
def test_oembed_refuses_what_it_cannot_embed(client: Client, url: str,
                                             status: int) -> None:  # fmt: skip
    answer = client.get("/oembed", {"url": url})

    assert answer.status_code == status
    assert "snippet" in answer.json()["message"]


def test_oembed_serves_json_only(client: Client, snippet_id: str) -> None:
    url = f"http://testserver/s/{snippet_id}"
    assert client.get("/oembed", {"url": url, "format": "xml"}).status_code == 501


def test_snippet_pages_carry_previews(client: Client, snippet_id: str) -> None:
    page = client.get(f"/s/{snippet_id}").content.decode()

    assert '<meta property="og:title"' in page
    assert 'content="print(&quot;&lt;hi&gt;&quot;)"' in page
    assert 'type="application/json+oembed"' in page


@pytest.mark.parametrize(
    "size",
    ["²", "٣٠٠", "9" * 5000, "0", "-5", "1e3", " 300"],
    ids=["superscript", "arabic-indic", "5000-digits", "zero", "negative",
         "exponent", "space"],
)  # fmt: skip
def test_oembed_sizes_that_are_not_plain_numbers_mean_the_default(
    client: Client, snippet_id: str, size: str
) -> None:
    url = f"http://testserver/s/{snippet_id}"
    answer = client.get("/oembed", {"url": url, "maxwidth": size, "maxheight": size})

    assert answer.status_code == 200
    assert (answer.json()["width"], answer.json()["height"]) == (720, 360)


def test_oembed_honours_a_smaller_size_with_leading_zeros(
    client: Client, snippet_id: str
) -> None:
    url = f"http://testserver/s/{snippet_id}"
    answer = client.get("/oembed", {"url": url, "maxheight": "000200"}).json()

    assert answer["height"] == 200


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_oembed_answers_other_methods_with_a_json_405(client: Client,
                                                      method: str) -> None:  # fmt: skip
    answer = getattr(client, method)("/oembed")

    assert answer.status_code == 405
    assert answer["Allow"] == "GET, HEAD"
    assert "use GET" in answer.json()["message"]
