"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.websocket_auth import TokenAuthMiddleware  # noqa: E402
from messenger.routing import websocket_urlpatterns  # noqa: E402
from messenger.sessions import session_auth_stack  # noqa: E402

websocket_routes = URLRouter(websocket_urlpatterns)
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # A socket presenting a personal access token is authenticated by it
        # alone; every other one must come from our Origin with a session.
        "websocket": TokenAuthMiddleware(
            token_app=websocket_routes,
            session_app=AllowedHostsOriginValidator(session_auth_stack(websocket_routes)),
        ),
    }
)
