"""WSGI entry point, for management tooling; the site itself runs on ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")
application = get_wsgi_application()
