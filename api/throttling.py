"""Request rates per person and per anonymous address, counted in the shared cache (Redis)."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class PersonThrottle(UserRateThrottle):
    """Limit each signed-in person (anonymous callers by address) to API_THROTTLE_USER_RATE."""

    def get_rate(self) -> str:
        """Read the rate per request, so it follows the settings (and tests' overrides)."""
        return str(settings.API_THROTTLE_USER_RATE)


class AnonymousThrottle(AnonRateThrottle):
    """Limit each anonymous address to API_THROTTLE_ANON_RATE."""

    def get_rate(self) -> str:
        """Read the rate per request, so it follows the settings (and tests' overrides)."""
        return str(settings.API_THROTTLE_ANON_RATE)
