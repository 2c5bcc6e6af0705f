"""oEmbed (JSON) for snippet and embed links, and the words of the
OpenGraph preview that chat apps show for a snippet link."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from playground.api.views import allow
from playground.models import Snippet
from playground.share import store
from playground.share.content import HIDEABLE, OPTION_KEYS

LINK = re.compile(r"^/(?:s|embed)/([a-z0-9]{12,32})/?$")
DEFAULT_WIDTH, DEFAULT_HEIGHT = 720, 360
SUMMARY_CHARS = 200


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def _size(request: HttpRequest, name: str, default: int) -> int:
    """maxwidth or maxheight: a smaller size is honoured; anything else,
    such as "²" (a digit to str.isdigit, not to int), means the default."""
    value = request.GET.get(name, "")
    digits = value.lstrip("0")
    if not (value.isascii() and value.isdigit()) or len(digits) > len(str(default)):
        return default
    return min(default, int(value)) or default


# Nothing but GET is served: other methods get a JSON 405, not the page
# that a refused form would.
@csrf_exempt
@allow("GET")
def oembed(request: HttpRequest) -> JsonResponse:
    url = request.GET.get("url", "")
    if request.GET.get("format", "json") != "json":
        return _error(501, "only format=json is served")
    try:
        parts = urlsplit(url)
    except ValueError:  # such as "http://[::1/s/...", a bracket left open
        parts = urlsplit("")
    match = LINK.match(parts.path)
    if not url or parts.netloc != request.get_host() or match is None:
        return _error(404, "url must be a snippet link of this site, "
                      f"like {request.build_absolute_uri('/s/<id>')}")  # fmt: skip
    snippet = store.find(match.group(1))
    if snippet is None or snippet.taken_down:
        return _error(404, f"no snippet {match.group(1)} to embed")
    query = embed_query(parts.query) if parts.path.startswith("/embed/") else ""
    return JsonResponse(_answer(request, snippet, query))


def embed_query(query: str) -> str:
    """The options of an embed link that the embed understands, so that the
    frame shows what the link did; anything else is dropped."""
    kept = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in EMBED_OPTIONS and EMBED_OPTIONS[name](value):
            kept.append((name, value))
    return urlencode(kept)


EMBED_OPTIONS = {
    "theme": lambda value: value in OPTION_KEYS["theme"],
    "readonly": lambda value: len(value) <= 5,  # a flag: 1, true, yes...
    "autorun": lambda value: len(value) <= 5,
    "hide": lambda value: set(value.split(",")) <= set(HIDEABLE),
    "height": lambda value: value == "auto",
}


def _answer(request: HttpRequest, snippet: Snippet, query: str) -> dict[str, object]:
    width = _size(request, "maxwidth", DEFAULT_WIDTH)
    height = _size(request, "maxheight", DEFAULT_HEIGHT)
    src = request.build_absolute_uri(reverse("embed", args=[snippet.id]))
    src += f"?{query}" if query else ""
    title = title_of(snippet)
    html = (f'<iframe src="{escape(src)}" width="{width}" height="{height}" '
            f'title="{escape(title)}" loading="lazy"></iframe>')  # fmt: skip
    return {
        "version": "1.0",
        "type": "rich",
        "provider_name": "Code playground",
        "provider_url": request.build_absolute_uri("/"),
        "title": title,
        "html": html,
        "width": width,
        "height": height,
    }


def title_of(snippet: Snippet) -> str:
    return f"{snippet.language} {snippet.version} snippet {snippet.id}"


def summary_of(snippet: Snippet) -> str:
    """The first lines of the code, for link previews."""
    code = snippet.files[0]["content"] if snippet.files else ""
    text = " ".join(code.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def preview(request: HttpRequest, snippet: Snippet) -> dict[str, str]:
    """What a snippet page's OpenGraph and oEmbed discovery tags need."""
    url = request.build_absolute_uri(reverse("snippet", args=[snippet.id]))
    query = urlencode({"url": url, "format": "json"})
    return {
        "preview_summary": summary_of(snippet),
        "oembed_url": request.build_absolute_uri(f"{reverse('oembed')}?{query}"),
    }
