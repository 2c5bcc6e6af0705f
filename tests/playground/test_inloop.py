"""The JSON API runs Django's middleware in the event loop: the same headers
and cookies as before, and the pages keep their threads for their sessions."""

from __future__ import annotations

import pytest
from django.test import AsyncClient

from playground.inloop import serves_json_api

pytestmark = pytest.mark.database


@pytest.mark.parametrize("path", ["/api/v2/execute", "/api/v2/piston/execute/",
                                  "/api/v2/runtimes", "/api/v2/packages"])  # fmt: skip
def test_the_piston_endpoints_run_in_the_loop(path: str) -> None:
    assert serves_json_api(path)


@pytest.mark.parametrize("path", ["/", "/api/docs", "/admin/", "/api/v2/nosuch",
                                  "/accounts/login/"])  # fmt: skip
def test_pages_and_unknown_paths_keep_their_threads(path: str) -> None:
    assert not serves_json_api(path)


async def test_an_api_answer_carries_the_hardening_headers() -> None:
    response = await AsyncClient().get("/api/v2/runtimes")

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert int(response["Content-Length"]) == len(response.content)


async def test_an_api_answer_replaces_a_malformed_csrf_cookie() -> None:
    client = AsyncClient()
    client.cookies["csrftoken"] = "not-a-token!"

    response = await client.get("/api/v2/runtimes")

    assert response.cookies["csrftoken"].value != "not-a-token!"
    assert response.cookies["csrftoken"]["httponly"]


async def test_a_page_still_saves_its_session() -> None:
    response = await AsyncClient().get("/")

    assert response.status_code == 200
    assert response.cookies["sessionid"].value
