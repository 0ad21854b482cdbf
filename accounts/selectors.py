"""Reads of accounts."""

from accounts.models import User


def user_get_active(*, username: str) -> User | None:
    """Return the active user with this username (case-insensitive), if any."""
    return User.objects.filter(username__iexact=username, is_active=True).first()
