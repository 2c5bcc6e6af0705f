"""Response headers that keep program output inert and the site unframed.

Every page gets a Content-Security-Policy with no inline script or style:
scripts and styles come from this site, and the only `<style>` elements are
the editor's own, which carry a per-request nonce. No page may be framed
(`frame-ancestors 'none'`) except the embed pages, which the origins in
PLAYGROUND_EMBED_ORIGINS may frame (`*`, the default, lets any site do so).
Over HTTPS every cookie is marked Secure.
"""

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


def frame_ancestors(path: str) -> str:
    if not path.startswith(EMBED_PREFIX):
        return "'none'"
    return " ".join(settings.PLAYGROUND_EMBED_ORIGINS) or "'none'"


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
