"""The served OpenAPI description is valid, and the API keeps to it when
schemathesis fuzzes it: no 5xx, no undocumented status, every response
matching its schema. Requests go in process through the ASGI app, and runs
reach the real sandbox."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import BaseSchema, Case, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err

from executor.backends import get_backend
from playground.asgi import application

SPEC = "/api/v2/openapi.json"
EXECUTE = "/api/v2/execute"
ROUTES = {
    f"{method} {prefix}/{name}"
    for prefix in ("/api/v2", "/api/v2/piston")
    for method, name in [
        ("GET", "runtimes"),
        ("POST", "execute"),
        ("GET", "packages"),
        ("POST", "packages"),
        ("DELETE", "packages"),
    ]
} | {f"GET {SPEC}", "GET /api/docs"}

# Few examples where requests are cheap or repeat others: the /piston/ paths
# reach the same views, so they get the spec's examples and a little fuzzing.
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": 4, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # Unknown languages are valid by the schema yet refused by design.
            "positive_data_acceptance": {"enabled": False},
        },
        "operations": [
            {
                "include-path-regex": "^/api/v2/piston/",
                "phases": {"coverage": {"enabled": False}},
                "generation": {"max-examples": 2, "database": "none"},
            },
            {
                "include-path-regex": "/execute$",
                "generation": {"max-examples": 12, "database": "none"},
            },
            # A missing administrator key is a 403 by design; this check
            # insists on 401 for any missing Authorization header.
            {
                "include-path-regex": "/packages$",
                "checks": {"missing_required_header": {"enabled": False}},
            },
        ],
    }
)
SANDBOX_EXAMPLES = 40


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The site, plus the lifespan events schemathesis sends: its requests
    run on an event loop of its own, which gets a supervisor of its own,
    and that supervisor should end with the test that started it."""
    if scope["type"] != "lifespan":
        await application(scope, receive, send)
        return
    while (await receive())["type"] == "lifespan.startup":
        await send({"type": "lifespan.startup.complete"})
    await get_backend().aclose()
    await send({"type": "lifespan.shutdown.complete"})


@pytest.fixture
def fuzzable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the key, package changes end at 403 and never reach apt-get.
    monkeypatch.delenv("PLAYGROUND_ADMIN_KEY", raising=False)
    # The fuzzer is one fast client: the rate limit is not under test here.
    monkeypatch.setenv("PLAYGROUND_RUNS_PER_SECOND", "1000")
    monkeypatch.setenv("PLAYGROUND_RUN_BURST", "1000")


@pytest.fixture
def served(fuzzable: None) -> BaseSchema:
    return schemathesis.openapi.from_asgi(SPEC, app, config=CONFIG)


def test_the_description_is_valid_openapi_for_every_route(served: BaseSchema) -> None:
    served.validate()
    broken = [r.err() for r in served.get_all_operations() if isinstance(r, Err)]
    assert broken == []
    paths = served.raw_schema["paths"]
    assert {
        f"{verb.upper()} {path}" for path in paths for verb in paths[path]
    } == ROUTES


def test_every_schema_is_valid_json_schema(served: BaseSchema) -> None:
    for name, schema in served.raw_schema["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_the_page_shows_every_endpoint_with_an_example_and_no_inline_code() -> None:
    page = Client().get("/api/docs").content.decode()

    for endpoint in ["runtimes", "execute", "packages", "connect", "openapi.json"]:
        assert f"/api/v2/{endpoint}" in page
    assert page.count("curl ") >= 6
    assert "<script" not in page and "style=" not in page


fuzzed = schemathesis.pytest.from_fixture("served")


@fuzzed.parametrize()
@pytest.mark.timeout(600)
def test_the_api_keeps_to_its_description(case: Case) -> None:
    case.call_and_validate()


def sandbox_bound(spec: dict[str, Any]) -> dict[str, Any]:
    """The description with `language` and `version` held to values this
    site has, so that most generated requests run a program instead of
    meeting a 400. Only valid requests are drawn from it."""
    narrowed = copy.deepcopy(spec)
    fields = narrowed["components"]["schemas"]["ExecuteRequest"]["properties"]
    fields["language"]["enum"] = fields["language"]["examples"]
    fields["version"]["enum"] = ["*", "x", "latest"]
    return narrowed


@pytest.mark.timeout(600)
def test_generated_runs_reach_the_sandbox_and_keep_to_the_description(
    served: BaseSchema,
) -> None:
    schema = schemathesis.openapi.from_dict(
        sandbox_bound(served.raw_schema), config=CONFIG
    )
    schema.app = app  # as from_asgi does: requests go to the app in process
    statuses: Counter[int] = Counter()

    @given(case=schema[EXECUTE]["POST"].as_strategy(GenerationMode.POSITIVE))
    @settings(
        max_examples=SANDBOX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def run(case: Case) -> None:
        statuses[case.call_and_validate().status_code] += 1

    run()
    assert statuses[200] >= SANDBOX_EXAMPLES // 5, statuses
