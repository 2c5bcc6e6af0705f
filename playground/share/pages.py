"""The snippet page (/s/<id>), the embed page (/embed/<id>) and the JSON
endpoint the page shares through (POST /api/snippets)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from playground.api.views import allow
from playground.models import Snippet
from playground.pages import runtime_list
from playground.registry import registry
from playground.share import store
from playground.share.content import (
    HIDEABLE,
    SnippetError,
    SnippetTooLarge,
    max_bytes,
    parse,
)
from playground.share.oembed import preview

THEMES = ("light", "dark", "auto")


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


@allow("POST")
def create(request: HttpRequest) -> JsonResponse:
    """Share: the body is {language, version, files, stdin?, args?, options?,
    parent?}; the answer names the snippet's id and links."""
    try:
        payload = _body(request)
        content = parse(payload)
        parent = _parent(payload.get("parent"))
        snippet = store.save(content, parent, request.META.get("REMOTE_ADDR"))
    except SnippetTooLarge as exc:
        return _error(413, str(exc))
    except SnippetError as exc:
        return _error(400, str(exc))
    except store.SharingTooFast as exc:
        response = _error(429, str(exc))
        response["Retry-After"] = str(exc.retry_after)
        return response
    if snippet.taken_down:
        # Its link shows the notice: handing that link out would say "Shared".
        return _error(410, f"this code is snippet {snippet.id}, which was taken "
                      "down by the playground's administrator; it cannot be "
                      "shared again")  # fmt: skip
    return JsonResponse(describe(request, snippet), status=201)


def _body(request: HttpRequest) -> Any:
    try:
        body = request.body
    except RequestDataTooBig:
        # Django refuses the body before the snippet's own check could run.
        raise SnippetTooLarge(
            f"this snippet is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes; "
            f"snippets are limited to {max_bytes():,} bytes (code, input and "
            "arguments together): shorten it to share it"
        ) from None
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise SnippetError("the request body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise SnippetError(f"the request body is not valid JSON: {exc}") from None


def _parent(value: Any) -> Snippet | None:
    if value in (None, ""):
        return None
    found = store.find(value) if isinstance(value, str) else None
    if found is None:
        raise SnippetError(f"parent {value!r} is not a snippet on this playground")
    return found


def describe(request: HttpRequest, snippet: Snippet) -> dict[str, Any]:
    url = request.build_absolute_uri(reverse("snippet", args=[snippet.id]))
    embed = request.build_absolute_uri(reverse("embed", args=[snippet.id]))
    return {"id": snippet.id, "url": url, "embed_url": embed,
            "parent": snippet.parent_id}  # fmt: skip


def running_on(snippet: Snippet) -> tuple[dict[str, str] | None, str]:
    """The installed runtime that runs this snippet, and a note when it is
    not the exact version the snippet was saved with."""
    saved = f"{snippet.language} {snippet.version}"
    same = [rt for rt in registry().installed
            if rt.language == snippet.language]  # fmt: skip
    exact = [rt for rt in same if rt.version == snippet.version]
    if exact:
        return {"language": exact[0].language, "version": exact[0].version}, ""
    if not same:
        return None, (f"Saved with {saved}, which this playground does not "
                      "have; choose a language to run it")  # fmt: skip
    newest = registry().find(snippet.language)
    note = f"Saved with {saved}, running on {newest.language} {newest.version}"
    return {"language": newest.language, "version": newest.version}, note


def snippet_data(snippet: Snippet) -> dict[str, Any]:
    runtime, note = running_on(snippet)
    return {
        "id": snippet.id,
        "language": snippet.language,
        "version": snippet.version,
        "files": snippet.files,
        "stdin": snippet.stdin,
        "args": snippet.args,
        "options": snippet.options,
        "runtime": runtime,
        "note": note,
    }


def unseen(snippet: Snippet) -> dict[str, list[str]]:
    """What runs but is not in the editor: files after the first (a module
    could shadow one the code imports) and the arguments. Pages name them."""
    names = [f["name"] or f"file {n}" for n, f in enumerate(snippet.files[1:], 2)]
    # Quoted as a shell would, so that "a b" is not shown as two arguments.
    return {"files": names, "args": [shlex.quote(arg) for arg in snippet.args]}


def _missing(request: HttpRequest, snippet_id: str) -> HttpResponse:
    return render(request, "playground/not_found.html",
                  {"what": f"snippet {snippet_id}"}, status=404)  # fmt: skip


def _taken_down(request: HttpRequest, snippet: Snippet, embed: bool) -> HttpResponse:
    return render(request, "playground/taken_down.html",
                  {"snippet": snippet, "embed": embed}, status=410)  # fmt: skip


@require_GET
def snippet_page(request: HttpRequest, snippet_id: str) -> HttpResponse:
    snippet = store.find(snippet_id)
    if snippet is None:
        return _missing(request, snippet_id)
    if snippet.taken_down:
        return _taken_down(request, snippet, embed=False)
    context = {
        "runtimes": runtime_list(),
        "snippet": snippet,
        "page_data": {"snippet": snippet_data(snippet)},
        "note": snippet_data(snippet)["note"],
        "unseen": unseen(snippet),
        "share": describe(request, snippet),
        **preview(request, snippet),
    }
    if request.session.session_key is None:
        request.session.save()  # the audit trail names page visitors by session
    return render(request, "playground/index.html", context)


def embed_options(request: HttpRequest, snippet: Snippet) -> dict[str, Any]:
    """URL options over the snippet's saved ones; bad values fall back to
    the defaults, since a reader cannot fix someone else's page."""
    saved = snippet.options
    theme = request.GET.get("theme", saved.get("theme", "auto"))
    hide = request.GET.get("hide")
    hidden = hide.split(",") if hide is not None else saved.get("hide", [])
    return {
        "theme": theme if theme in THEMES else "auto",
        "readonly": _flag(request.GET.get("readonly"), saved.get("readonly", False)),
        "autorun": _flag(request.GET.get("autorun"), False),
        "hide": [part for part in hidden if part in HIDEABLE],
        "height_auto": request.GET.get("height") == "auto",
    }


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.lower() in ("", "1", "true", "yes", "on")


@xframe_options_exempt
@require_GET
def embed_page(request: HttpRequest, snippet_id: str) -> HttpResponse:
    snippet = store.find(snippet_id)
    if snippet is None:
        return _missing(request, snippet_id)
    if snippet.taken_down:
        return _taken_down(request, snippet, embed=True)
    options = embed_options(request, snippet)
    data = snippet_data(snippet)
    context = {
        "runtimes": runtime_list(),
        "snippet": snippet,
        "options": options,
        "page_data": {"snippet": data, "embed": options},
        "note": data["note"],
        "unseen": unseen(snippet),
        "share": describe(request, snippet),
        "theme_attr": "" if options["theme"] == "auto" else options["theme"],
        "embed_origins": settings.PLAYGROUND_EMBED_ORIGINS,
    }
    return render(request, "playground/embed.html", context)
