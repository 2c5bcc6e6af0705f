"""Response headers that keep program output inert in the page."""

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

# Scripts and styles only from this site; no inline script can run, so even a
# rendering bug could not turn program output into code.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def content_security_policy(get_response: Callable) -> Callable:
    def add(response: HttpResponse) -> HttpResponse:
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            return add(await get_response(request))

        markcoroutinefunction(middleware)
        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        return add(get_response(request))

    return sync_middleware


content_security_policy.async_capable = True  # type: ignore[attr-defined]
content_security_policy.sync_capable = True  # type: ignore[attr-defined]
