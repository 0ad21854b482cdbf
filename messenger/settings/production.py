"""Settings for production: everything that matters must come from the environment."""

from django.core.exceptions import ImproperlyConfigured

from messenger.settings.base import *  # noqa: F403
from messenger.settings.environment import env_bool, env_int

if not SECRET_KEY:  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:  # noqa: F405
    # A wildcard would let every Origin through AllowedHostsOriginValidator.
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names (never '*')")

DEBUG = False
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
