"""Security headers on every page: a CSP without inline script or style,
framing refused except for embeds, and the usual hardening headers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from playground.checks import embed_origins
from tests.playground.share.conftest import payload, share

pytestmark = pytest.mark.database


def directives(policy: str) -> dict[str, str]:
    parts = (d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


@pytest.fixture
def snippet_id(browser_client: Client) -> str:
    return str(share(browser_client, payload()).json()["id"])


@pytest.mark.parametrize("path", ["/", "/s/{id}", "/api/docs", "/c/nosuch/",
                                  "/accounts/login/", "/admin/login/",
                                  "/s/nosuchsnippet1"])  # fmt: skip
def test_pages_refuse_framing_and_inline_code(
    client: Client, snippet_id: str, path: str
) -> None:
    response = client.get(path.format(id=snippet_id))
    policy = directives(response["Content-Security-Policy"])

    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert policy["script-src"] == "'self'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_embeds_may_be_framed_by_any_site_by_default(
    client: Client, snippet_id: str
) -> None:
    response = client.get(f"/embed/{snippet_id}")

    assert directives(response["Content-Security-Policy"])["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in response


def test_embeds_may_be_limited_to_listed_origins(
    client: Client, snippet_id: str, settings: object
) -> None:
    settings.PLAYGROUND_EMBED_ORIGINS = [  # type: ignore[attr-defined]
        "https://docs.example.org", "https://wiki.example.org"]  # fmt: skip
    response = client.get(f"/embed/{snippet_id}")

    assert directives(response["Content-Security-Policy"])["frame-ancestors"] == (
        "https://docs.example.org https://wiki.example.org"
    )


def test_cookies_are_httponly_and_secure_over_https() -> None:
    plain = Client().get("/")
    secure = Client().get("/", secure=True)

    for name in ("sessionid", "csrftoken"):
        assert plain.cookies[name]["httponly"]
        assert not plain.cookies[name]["secure"]
        assert secure.cookies[name]["secure"]


def test_no_page_carries_inline_script_or_style(
    client: Client, snippet_id: str
) -> None:
    for path in ("/", f"/s/{snippet_id}", f"/embed/{snippet_id}", "/accounts/login/"):
        html = client.get(path).content.decode()
        assert "<style" not in html and " style=" not in html
        for tag in html.split("<script")[1:]:
            head = tag.split(">", 1)[0]
            assert "src=" in head or 'type="application/json"' in head, head


def test_an_embed_origin_that_would_break_the_policy_is_left_out(
    client: Client, snippet_id: str, settings: Any
) -> None:
    # A ";" would end frame-ancestors and start a directive of its own.
    settings.PLAYGROUND_EMBED_ORIGINS = [
        "https://docs.example.org;script-src",
        "https://wiki.example.org",
    ]
    response = client.get(f"/embed/{snippet_id}")
    policy = directives(response["Content-Security-Policy"])

    assert policy["frame-ancestors"] == "https://wiki.example.org"
    assert policy["script-src"] == "'self'"
    assert "docs.example.org" not in response["Content-Security-Policy"]


def test_manage_py_check_names_an_embed_origin_it_cannot_use(
    settings: Any,
) -> None:
    settings.PLAYGROUND_EMBED_ORIGINS = ["*", "https://a.example.org;x"]
    errors = embed_origins(None)

    assert [e.id for e in errors] == ["playground.W002"]
    assert "'https://a.example.org;x'" in errors[0].msg
    settings.PLAYGROUND_EMBED_ORIGINS = ["*", "https://a.example.org:8443/docs/"]
    assert embed_origins(None) == []
