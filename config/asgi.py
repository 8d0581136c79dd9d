"""ASGI entry point: HTTP and WebSockets under daphne (`make run`); `/ws/` only in production.

Serve it with `python -m production.plumbing.bounded_daphne` (daphne's arguments), which refuses
a body over the largest limit before daphne has received it."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models (the routing does).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from production.plumbing.request_limits import BodyLimitASGI  # noqa: E402
from production.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # A body over its path's limit is refused before Django spools it (413).
        "http": BodyLimitASGI(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

from production.plumbing.startup_heap import freeze_startup_heap  # noqa: E402

freeze_startup_heap()
