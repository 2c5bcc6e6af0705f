"""The API's OpenAPI description and its page for people. The page's field
tables are read from the description, so that the two cannot disagree."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_exempt

from executor import config
from playground.api import openapi
from playground.api.views import allow
from playground.registry import registry

BASE_URL = "http://127.0.0.1:8000"  # what the page's examples call
# The field tables of each section of the page: (caption, schema name).
TABLES = {
    "runtimes": [("Each entry of the list", "Runtime")],
    "execute": [
        ("Request body", "ExecuteRequest"),
        ("Each entry of `files`", "File"),
        ("Response", "ExecuteResult"),
        ("A stage result (`compile` and `run`)", "RunResult"),
    ],
    "packages": [("Each entry of the list", "Package")],
    "change": [("Request body", "PackageRequest"), ("Response", "PackageChanged")],
}


# Exempt, so that another method gets the JSON 405 rather than Django's HTML
# CSRF page; neither view changes anything.
@csrf_exempt
@allow("GET")
def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.build())


@csrf_exempt
@allow("GET")
def docs_page(request: HttpRequest) -> HttpResponse:
    schemas = openapi.build()["components"]["schemas"]
    tables = {
        section: [
            {"caption": with_code(caption), "rows": rows(schemas[name])}
            for caption, name in captioned
        ]
        for section, captioned in TABLES.items()
    }
    context = {
        "base": BASE_URL,
        "runtimes": registry().installed,
        "tables": tables,
        "limits": limits(),
    }
    return render(request, "playground/api_docs.html", context)


def rows(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A table of an object's properties: name, type, required, description."""
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_of(field),
            "required": name in required,
            "description": with_code(field.get("description", "")),
        }
        for name, field in schema["properties"].items()
    ]


def type_of(field: dict[str, Any]) -> str:
    if "$ref" in field:
        return str(field["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in field:
        return " or ".join(type_of(option) for option in field["anyOf"])
    if "enum" in field:
        return " | ".join("null" if v is None else str(v) for v in field["enum"])
    kinds = field.get("type", "any")
    kind = " or ".join(kinds) if isinstance(kinds, list) else str(kinds)
    if "items" in field:
        return kind.replace("array", f"array of {type_of(field['items'])}")
    return kind


def with_code(text: str) -> SafeString:
    """The description's `quoted` parts as <code>, every part escaped."""
    tagged = [
        ("code" if index % 2 else "span", part)
        for index, part in enumerate(text.split("`"))
        if part
    ]
    return format_html_join("", "<{0}>{1}</{0}>", tagged)


def limits() -> list[dict[str, Any]]:
    """Every site-wide limit with its default and maximum."""
    settings = config.get()
    return [
        {"name": name, "default": settings.defaults[name], "maximum": maximum}
        for name, maximum in settings.maxima.items()
    ]
