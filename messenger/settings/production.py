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
# HTTPS only (the cookies above are Secure): browsers are told to come back
# over HTTPS for a year, and plain HTTP is redirected — except the probes and
# metrics, which load balancers and scrapers call on the internal address.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a per-domain decision (a submission to the browsers'
    # list, hard to undo): SECURE_HSTS_PRELOAD=1 opts in.
    "security.W021",
]
