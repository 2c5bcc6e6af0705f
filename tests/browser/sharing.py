"""Helpers of the sharing browser tests: make snippets as the page does, and
serve a page of another origin that embeds them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from playwright.sync_api import Page

SHARE = """async body => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch("/api/snippets", {method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
    body: JSON.stringify(body)});
  return {status: response.status, body: await response.json()};
}"""


def make_snippet(page: Page, code: str, language: str = "python",
                 **extra: Any) -> str:  # fmt: skip
    """Share `code` from the page (any installed version of the language)
    and return the snippet's id."""
    page.goto("/")
    runtimes = json.loads(page.text_content("#runtimes-data") or "[]")
    version = next(rt["version"] for rt in runtimes if rt["language"] == language)
    body = {"language": language, "version": version,
            "files": [{"content": code}], **extra}  # fmt: skip
    answer = page.evaluate(SHARE, body)
    assert answer["status"] == 201, answer
    return str(answer["body"]["id"])


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        body = self.pages.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write((body or "not found").encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's output stays readable


@contextmanager
def other_origin(pages: dict[str, str]) -> Iterator[str]:
    """Serve `pages` (path -> HTML) on a free loopback port under the name
    localhost: another origin, and another site, than the playground's
    127.0.0.1."""
    handler = type("Pages", (_Pages,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
