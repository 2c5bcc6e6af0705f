"""Static files, served by the site itself outside Django's middleware,
still carry X-Content-Type-Options."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest


@pytest.mark.parametrize(
    "path",
    ["/static/playground/playground-embed.js", "/static/playground/share.css",
     "/static/playground/favicon.svg", "/static/playground/no-such-file.js"],
)  # fmt: skip
def test_static_files_are_never_sniffed(site: str, path: str) -> None:
    try:
        with urllib.request.urlopen(site + path) as answer:  # noqa: S310 (the site)
            headers = answer.headers
    except urllib.error.HTTPError as exc:
        headers = exc.headers
        exc.close()

    assert headers["X-Content-Type-Options"] == "nosniff"
