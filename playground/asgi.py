"""The ASGI application: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import path  # noqa: E402

from playground.api.consumers import RunConsumer  # noqa: E402

websockets = URLRouter([path("api/v2/connect", RunConsumer.as_asgi())])

application = ProtocolTypeRouter(
    {
        # The site serves its own static files: one machine needs no web server.
        "http": ASGIStaticFilesHandler(django_http),
        "websocket": AllowedHostsOriginValidator(websockets),
    }
)
