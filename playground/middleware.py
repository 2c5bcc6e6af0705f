"""Response headers that keep program output inert and the site unframed.

Every page gets a Content-Security-Policy with no inline script or style:
scripts and styles come from this site, and the only `<style>` elements are
the editor's own, which carry a per-request nonce. No page may be framed
(`frame-ancestors 'none'`) except the embed pages, which the origins in
PLAYGROUND_EMBED_ORIGINS may frame (`*`, the default, lets any site do so).
Over HTTPS every cookie is marked Secure.
"""

import re
import secrets
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors {ancestors}; form-action 'self'"
)
EMBED_PREFIX = "/embed/"

Handler = Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]


# What frame-ancestors accepts: *, 'self', 'none', a scheme ("https:") or a
# host with optional scheme, port and path. Anything else (a ";" above all,
# which would start another directive) is left out; `manage.py check` names it.
SOURCE = re.compile(
    r"\*|'self'|'none'|[a-z][a-z0-9+.-]*:"
    r"|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*"
    r"(?::(?:[0-9]+|\*))?(?:/[^\s;,']*)?",
    re.IGNORECASE,
)


def bad_origins(origins: list[str]) -> list[str]:
    return [origin for origin in origins if not SOURCE.fullmatch(origin)]


def frame_ancestors(path: str) -> str:
    if not path.startswith(EMBED_PREFIX):
        return "'none'"
    origins = settings.PLAYGROUND_EMBED_ORIGINS
    bad = bad_origins(origins)
    return " ".join(o for o in origins if o not in bad) or "'none'"


def _headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    nonce = request.csp_nonce  # type: ignore[attr-defined]
    policy = POLICY.format(nonce=nonce, ancestors=frame_ancestors(request.path))
    response.headers.setdefault("Content-Security-Policy", policy)
    if request.is_secure():
        for morsel in response.cookies.values():
            morsel["secure"] = True
    return response


def content_security_policy(get_response: Handler) -> Handler:
    def before(request: HttpRequest) -> None:
        request.csp_nonce = secrets.token_urlsafe(16)  # type: ignore[attr-defined]

    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            before(request)
            response = await get_response(request)  # type: ignore[misc]
            return _headers(request, response)

        markcoroutinefunction(middleware)
        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        before(request)
        return _headers(request, get_response(request))  # type: ignore[arg-type]

    return sync_middleware


content_security_policy.async_capable = True  # type: ignore[attr-defined]
content_security_policy.sync_capable = True  # type: ignore[attr-defined]
