"""Announce logins and logouts on the ``activity`` topic; recheck sockets on password changes."""

from typing import Any

from allauth.account import signals as allauth_signals
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from messenger.kafka.events import Envelope, UserLoggedIn, UserLoggedOut
from messenger.kafka.producer import publish_on_commit
from messenger.realtime import frames_push, session_hash, user_group


@receiver(user_logged_in)
def announce_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """Put a login on the activity topic."""
    publish_on_commit(Envelope(payload=UserLoggedIn(user_id=user.pk)))


@receiver(user_logged_out)
def announce_logout(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    """Put a logout on the activity topic: that session's sockets will close."""
    if user is None:
        return
    key = request.session.session_key or ""
    publish_on_commit(
        Envelope(
            payload=UserLoggedOut(user_id=user.pk, session_hash=session_hash(key) if key else "")
        )
    )


@receiver(allauth_signals.password_changed)
@receiver(allauth_signals.password_set)
@receiver(allauth_signals.password_reset)
def sockets_recheck(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """After a password change, every socket of the user checks its session.

    Sessions made with the old password no longer authenticate (Django's
    session hash): their sockets close at once, not at their expiry.
    """
    send = (user_group(user.pk), {"type": "session.check"})
    transaction.on_commit(lambda: frames_push([send]))
