"""Helpers for the sharing tests: a share through the JSON endpoint with the
page's CSRF token, as the page itself sends it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from playground.registry import registry


@pytest.fixture
def browser_client() -> Client:
    """A client that enforces CSRF checks, as a browser meets them."""
    return Client(enforce_csrf_checks=True)


def python_runtime() -> tuple[str, str]:
    rt = registry().find("python")
    return rt.language, str(rt.version)


def payload(code: str = 'print("hello")\n', **extra: Any) -> dict[str, Any]:
    language, version = python_runtime()
    return {"language": language, "version": version,
            "files": [{"content": code}], **extra}  # fmt: skip


def csrf_token(client: Client) -> str:
    page = client.get("/").content.decode()
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def share(client: Client, body: Any) -> Any:
    """POST /api/snippets as the page does; returns the response."""
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/api/snippets", data=data,
                       content_type="application/json",
                       headers={"X-CSRFToken": csrf_token(client)})  # fmt: skip
