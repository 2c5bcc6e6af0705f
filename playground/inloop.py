"""Django's middleware, run in the event loop for the JSON API.

Django runs each hook of a synchronous middleware in a worker thread when the
request is served asynchronously: for a POST to /api/v2/execute that is a
dozen thread hops, each costing more than the hook itself. The views marked
`json_api` are async and CSRF-exempt and touch no session, user or message,
so for them every hook below only reads the request and sets headers: it runs
in the loop instead, the same code with the same effects. Every other request
(the pages, the admin) keeps Django's threads, because there a hook may load
or save a session.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils.deprecation import MiddlewareMixin

View = Callable[..., Any]

# Set by the ASGI handler (playground/handler.py), which has resolved the path
# already; requests from elsewhere (the test client) resolve it here.
SCOPE_KEY = "playground.json_api"


def json_api(view: View) -> View:
    """Mark a CSRF-exempt API view that uses no session, user or message, and
    the database only on the database thread (playground/dbthread.py)."""
    view.json_api = True  # type: ignore[attr-defined]
    return view


def serves_json_api(path_info: str, urlconf: str | None = None) -> bool:
    try:
        view = resolve(path_info, urlconf).func
    except Resolver404:
        return False
    return getattr(view, "json_api", False) and getattr(view, "csrf_exempt", False)


def _in_loop(request: HttpRequest) -> bool:
    # Every middleware asks: resolve the path once per request.
    known: bool | None = getattr(request, "in_loop", None)
    if known is None:
        known = getattr(request, "scope", {}).get(SCOPE_KEY)
    if known is None:
        known = serves_json_api(request.path_info, getattr(request, "urlconf", None))
    request.in_loop = known  # type: ignore[attr-defined]
    return known


class InLoop(MiddlewareMixin):
    """A Django middleware whose hooks run in the loop for the JSON API."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if not _in_loop(request):
            return await super().__acall__(request)  # type: ignore[no-any-return]
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response  # type: ignore[no-any-return]


class Security(InLoop, SecurityMiddleware):
    pass


class Sessions(InLoop, SessionMiddleware):
    pass


class Common(InLoop, CommonMiddleware):
    pass


class Csrf(InLoop, CsrfViewMiddleware):
    """CSRF checks; the JSON API's views are exempt, so its check is a lookup."""

    def __init__(self, get_response: View) -> None:
        super().__init__(get_response)
        if self.async_mode:
            # Django would run a synchronous process_view in a thread.
            self.process_view = self._process_view_async  # type: ignore[method-assign]

    async def _process_view_async(
        self, request: HttpRequest, view: View, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        check = super().process_view
        if _in_loop(request):
            return check(request, view, args, kwargs)
        return await sync_to_async(check, thread_sensitive=True)(
            request, view, args, kwargs
        )


class Authentication(InLoop, AuthenticationMiddleware):
    pass


class Messages(InLoop, MessageMiddleware):
    pass


class FrameOptions(InLoop, XFrameOptionsMiddleware):
    pass
