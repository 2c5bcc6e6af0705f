"""POST /api/v2/execute served straight from ASGI, in front of Django.

Django's request, middleware and URL resolving are work the hot endpoint does
not need (about 0.4 ms of the web process's CPU per request). For that one
endpoint, this app answers with the view's own function
(playground.api.views.answer) and adds what Django adds around it for such a
request: the hardening headers (playground.middleware.hardening_headers),
Content-Length, the log line of a refused request, and the run stopped when
the client leaves.

It serves only what the middleware would leave alone: a POST with a known
host, no cookie and a Content-Length within the upload limit. Everything else
(another method, a cookie that the session or CSRF middleware would answer,
a host or body Django refuses) goes to Django unchanged, and is answered
exactly as before.
"""

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import get_script_prefix
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.utils.log import log_response

from playground.api import views
from playground.handler import unless_client_leaves
from playground.middleware import hardening_headers
from playground.urls import urlpatterns

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# The URL pattern that Django resolves to the view, taken from the URLconf.
PATH: re.Pattern[str] = next(
    p.pattern.regex
    for p in urlpatterns
    if getattr(p, "callback", None) is views.execute
)
# The request headers this path reads; the others mean nothing to it.
READ = {b"authorization", b"host", b"cookie", b"content-length",
        b"x-forwarded-host", b"x-forwarded-proto"}  # fmt: skip


class ExecuteFastPath:
    """The ASGI app in front of Django: POST /api/v2/execute, or Django."""

    def __init__(self, django: App) -> None:
        self.django = django

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_execute(scope):
            return await self.django(scope, receive, send)
        headers = _headers(scope)
        if not _served_here(scope, headers):
            return await self.django(scope, receive, send)
        body = await _read_body(receive)
        if body is not None:  # else the client left before it was sent
            await _answer(scope, headers, body, receive, send)


def _is_execute(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    # As Django resolves it: the path past the script prefix, less its "/".
    path = scope["path"].removeprefix(get_script_prefix(scope))
    return PATH.fullmatch(path.removeprefix("/")) is not None


def _headers(scope: Scope) -> dict[bytes, str]:
    # As Django's ASGIRequest: repeated headers joined with commas.
    found: dict[bytes, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.lower()
        if name in READ:
            value = raw_value.decode("latin1")
            found[name] = f"{found[name]},{value}" if name in found else value
    return found


def _served_here(scope: Scope, headers: dict[bytes, str]) -> bool:
    """Whether Django's middleware would leave this request alone."""
    return (
        _plain_settings()
        and b"cookie" not in headers
        and _length_allowed(headers.get(b"content-length", ""))
        and _host_allowed(scope, headers)
    )


def _length_allowed(length: str) -> bool:
    # A body without a length (chunked) or over the limit is Django's case.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return length.isdigit() and (limit is None or int(length) <= limit)


def _plain_settings() -> bool:
    # Middleware settings that would make Django redirect or refuse first, or
    # trust a proxy header this path does not read.
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    return not (
        (proxy_header and proxy_header[0] != "HTTP_X_FORWARDED_PROTO")
        or settings.SECURE_SSL_REDIRECT
        or settings.PREPEND_WWW
        or settings.DISALLOWED_USER_AGENTS
    )


def _host_allowed(scope: Scope, headers: dict[bytes, str]) -> bool:
    # As HttpRequest.get_host(), which CommonMiddleware calls.
    host = headers.get(b"host")
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        host = headers[b"x-forwarded-host"]
    if host is None:
        return False  # Django builds one from the server's name: its case
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    return bool(domain) and bool(validate_host(domain, allowed))


def _is_secure(scope: Scope, headers: dict[bytes, str]) -> bool:
    # As HttpRequest.scheme, with the one proxy header this site may trust.
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        if name == "HTTP_X_FORWARDED_PROTO" and b"x-forwarded-proto" in headers:
            given = headers[b"x-forwarded-proto"].split(",", 1)[0]
            return given.strip() == str(secure_value)
    return bool(scope.get("scheme") == "https")


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client left first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    scope: Scope, headers: dict[bytes, str], body: bytes, receive: Receive, send: Send
) -> None:
    client = scope.get("client")
    address = client[0] if client else None
    authorization = headers.get(b"authorization", "")
    answer = views.answer(authorization, address, lambda: body)
    response = await _unless_client_leaves(answer, receive)
    if response is None:
        return
    _harden(response, scope["path"], _is_secure(scope, headers))
    if response.status_code >= 400:
        # As Django's handler: a refused request leaves a line in its log.
        failure = getattr(response, "failure", None)
        log_response("%s: %s", response.reason_phrase, scope["path"],
                     response=response, exception=failure)  # fmt: skip
    await _send(response, send)


async def _unless_client_leaves(
    answer: Awaitable[HttpResponse], receive: Receive
) -> HttpResponse | None:
    """The answer, or None if the client left first: then the answer is
    cancelled, which stops the run and keeps its record (views._run)."""
    done = await unless_client_leaves(answer, _disconnected(receive))
    if done is None:
        return None
    try:
        return done.result()
    except Exception as exc:  # our failure: as Django, a JSON 500 and a trace
        response = views.server_error(None)
        response.failure = exc  # for the log line
        return response


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _harden(response: HttpResponse, path: str, secure: bool) -> None:
    # The headers in the order Django's middleware would add them.
    nonce = secrets.token_urlsafe(16)  # as the middleware: one per response
    hardening = hardening_headers(path, nonce, secure, frame_options=True)
    response["X-Frame-Options"] = hardening.pop("X-Frame-Options")
    response["Content-Length"] = str(len(response.content))
    for name, value in hardening.items():
        response[name] = value


async def _send(response: HttpResponse, send: Send) -> None:
    headers = [(name.encode("ascii"), value.encode("latin1"))
               for name, value in response.items()]  # fmt: skip
    start = {"type": "http.response.start", "status": response.status_code}
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
