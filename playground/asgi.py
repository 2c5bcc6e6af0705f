"""The ASGI application: HTTP through Django, websockets through Channels."""

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django.setup(set_prefix=False)  # as get_asgi_application() does

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.exceptions import SuspiciousFileOperation  # noqa: E402
from django.http import HttpResponseNotFound  # noqa: E402
from django.urls import re_path  # noqa: E402

from playground.api.consumers import NoSuchSocket, RunConsumer  # noqa: E402
from playground.api.fastpath import ExecuteFastPath  # noqa: E402
from playground.handler import Handler  # noqa: E402
from playground.registry import registry  # noqa: E402

# Validate every runtime file and detect the versions now, once, rather than
# on the first request.
registry()

websockets = SessionMiddlewareStack(
    URLRouter([
        re_path(r"^api/v2/(?:piston/)?connect/?$", RunConsumer.as_asgi()),
        re_path(r"", NoSuchSocket.as_asgi()),
    ])
)  # fmt: skip


class StaticFiles(ASGIStaticFilesHandler):
    """Serves static/; a path that tries to leave it is simply not found."""

    async def get_response_async(self, request: Any) -> Any:
        try:
            response = await super().get_response_async(request)
        except SuspiciousFileOperation:
            response = HttpResponseNotFound("not found")
        # Served outside Django's middleware: a file is only ever what its
        # type says (a script stays a script, an SVG never becomes a page).
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin, so a cross-site page is refused; API
    clients (Piston's libraries, bots) send none and are let through."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)


def same_site_websockets(app: Any) -> Any:
    allowed = ["*"] if settings.DEBUG else list(settings.ALLOWED_HOSTS)
    return BrowserOriginValidator(app, allowed)


application = ProtocolTypeRouter(
    {
        # The site serves its own static files: one machine needs no web server.
        # POST /api/v2/execute, the hot endpoint, skips Django's machinery.
        "http": ExecuteFastPath(StaticFiles(Handler())),
        "websocket": same_site_websockets(websockets),
    }
)
