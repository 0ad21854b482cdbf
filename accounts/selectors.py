"""Reads of accounts."""

from django.db.models import QuerySet

from accounts.models import AccessToken, User


def user_get_active(*, username: str) -> User | None:
    """Return the active user with this username (case-insensitive), if any."""
    return User.objects.filter(username__iexact=username, is_active=True).first()


def tokens_of_user(*, user: User) -> QuerySet[AccessToken]:
    """Return the user's personal access tokens, newest first, revoked ones too."""
    return AccessToken.objects.filter(user=user).order_by("-created_at", "-pk")


def token_of_user(*, user: User, token_id: int) -> AccessToken | None:
    """Return one of the user's tokens, or None when it is not theirs."""
    return AccessToken.objects.filter(user=user, pk=token_id).first()
