"""Response headers that keep program output inert in the page."""

import secrets
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

# Scripts only from this site and no inline script at all, so even a
# rendering bug could not turn program output into code. Styles from this
# site, plus the editor's own <style> elements, which carry a per-request
# nonce.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

Handler = Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]


def content_security_policy(get_response: Handler) -> Handler:
    def before(request: HttpRequest) -> None:
        request.csp_nonce = secrets.token_urlsafe(16)  # type: ignore[attr-defined]

    def after(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.path.startswith("/admin/"):
            return response  # Django's admin uses inline styles; no output there
        nonce = request.csp_nonce  # type: ignore[attr-defined]
        response.headers.setdefault(
            "Content-Security-Policy", POLICY.format(nonce=nonce)
        )
        return response

    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            before(request)
            return after(request, await get_response(request))  # type: ignore[misc]

        markcoroutinefunction(middleware)
        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        before(request)
        return after(request, get_response(request))  # type: ignore[arg-type]

    return sync_middleware


content_security_policy.async_capable = True  # type: ignore[attr-defined]
content_security_policy.sync_capable = True  # type: ignore[attr-defined]
