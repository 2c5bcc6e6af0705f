"""Response headers that keep program output inert and the site unframed.

Every page gets a Content-Security-Policy with no inline script or style:
scripts and styles come from this site, and the only `<style>` elements are
the editor's own, which carry a per-request nonce. No page may be framed
(`frame-ancestors 'none'`) except the embed pages, which the origins in
PLAYGROUND_EMBED_ORIGINS may frame (`*`, the default, lets any site do so).
Over HTTPS every cookie is marked Secure. `hardening_headers` is the one list
of these headers and Django's own (sniffing, referrer, opener, HSTS, framing):
the middleware and the direct path of POST /api/v2/execute both use it.
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


def hardening_headers(
    path: str, nonce: str, secure: bool, frame_options: bool = False
) -> dict[str, str]:
    """The hardening headers of a response to `path`, in the order Django's
    middleware adds them, from the same settings: the one list for the
    middleware below and for the direct path of POST /api/v2/execute
    (playground/api/fastpath.py). Django's SecurityMiddleware stays in place
    (it redirects to HTTPS when asked) and finds these headers set.
    X-Frame-Options only on request: in Django's stack its own middleware
    sets it, inside this one, and only on the responses that pass it."""
    headers = {}
    if frame_options:  # as XFrameOptionsMiddleware.get_xframe_options_value
        headers["X-Frame-Options"] = settings.X_FRAME_OPTIONS.upper()
    headers["Content-Security-Policy"] = POLICY.format(
        nonce=nonce, ancestors=frame_ancestors(path)
    )
    if settings.SECURE_HSTS_SECONDS and secure:
        headers["Strict-Transport-Security"] = _hsts()
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers["X-Content-Type-Options"] = "nosniff"
    if referrer := _referrer_policy():
        headers["Referrer-Policy"] = referrer
    if opener := settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers["Cross-Origin-Opener-Policy"] = opener
    return headers


def _hsts() -> str:
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    return value + ("; preload" if settings.SECURE_HSTS_PRELOAD else "")


def _referrer_policy() -> str:
    # A comma-separated string or a list of fallbacks, as Django accepts.
    policy = settings.SECURE_REFERRER_POLICY or ""
    if isinstance(policy, str):
        return ",".join(v.strip() for v in policy.split(","))
    return ",".join(policy)


def _headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    nonce = request.csp_nonce  # type: ignore[attr-defined]
    found = hardening_headers(request.path, nonce, request.is_secure())
    for name, value in found.items():
        response.headers.setdefault(name, value)
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
