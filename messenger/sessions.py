"""Login sessions that reach the sockets opened with them.

Django's database session store, plus: when a session ends (logout, or a login
as someone else, both flush it) its open sockets are closed at once; when its
key changes (a password change cycles it) they reconnect with the new one; and
:func:`session_expiry` tells a socket until when its session still lets it in.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts.models import User
from messenger.database import database_sync_to_async_unshared
from messenger.realtime import frames_push, session_group

logger = logging.getLogger(__name__)


def _ended(old_key: str) -> tuple[str, dict[str, Any]]:
    return session_group(old_key), {"type": "session.close"}


def _moved(old_key: str) -> tuple[str, dict[str, Any]]:
    # The sockets reconnect, with the cookie that now carries the new key:
    # the key itself never travels through the channel layer.
    return session_group(old_key), {"type": "session.close", "reconnect": True}


class SessionStore(DatabaseSessionStore):
    """The database session store; its sockets end with it and follow its key."""

    def flush(self) -> None:
        """End the session, and after the commit close the sockets opened with it."""
        old_key = self.session_key
        super().flush()
        if old_key:
            send = _ended(old_key)
            transaction.on_commit(lambda: frames_push([send]))

    async def aflush(self) -> None:
        """End the session (async views), and close the sockets opened with it."""
        old_key = self.session_key
        await super().aflush()
        if old_key:
            await _push_async(*_ended(old_key))

    def cycle_key(self) -> None:
        """Give the session a new key; its sockets reconnect with it."""
        old_key = self.session_key
        super().cycle_key()
        if old_key and self.session_key != old_key:
            send = _moved(old_key)
            transaction.on_commit(lambda: frames_push([send]))

    async def acycle_key(self) -> None:
        """Give the session a new key (async views); its sockets reconnect with it."""
        old_key = self.session_key
        await super().acycle_key()
        if old_key and self.session_key != old_key:
            await _push_async(*_moved(old_key))


async def _push_async(group: str, message: dict[str, Any]) -> None:
    # Best effort like every push; a socket also checks its session at expiry.
    try:
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(group, message)
    except Exception:
        logger.exception("telling the sockets of a session failed")


@dataclass(frozen=True)
class SessionLogin:
    """Who a login session authenticates, and until when."""

    user: User
    expires_at: datetime


def session_login(*, session_key: str) -> SessionLogin | None:
    """Return who the session authenticates and until when; None if nobody.

    Nobody when it was deleted or expired, names no user or a backend no
    longer configured, its user is inactive, or it was made before the
    user's password changed (Django's session hash check): what
    ``django.contrib.auth.get_user`` checks, in one call.
    """
    session = Session.objects.filter(
        session_key=session_key, expire_date__gt=timezone.now()
    ).first()
    if session is None:
        return None
    data = session.get_decoded()
    user_id = data.get(SESSION_KEY)
    if user_id is None or data.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return None
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        return None
    stored_hash = data.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(stored_hash, expected) for expected in hashes):
        return None
    return SessionLogin(user=user, expires_at=session.expire_date)


def session_expiry(*, session_key: str, user_id: int) -> datetime | None:
    """Return when the session stops authenticating the user; None if it already has."""
    login = session_login(session_key=session_key)
    if login is None or login.user.pk != user_id:
        return None
    return login.expires_at


class SessionAuthMiddleware:
    """Put the session's user (or an anonymous one) and its expiry in a socket's scope.

    Channels' ``AuthMiddleware`` loads the session and the user in two calls
    on the one thread daphne runs every socket's database work on, and the
    socket then checked the session's expiry in a third: a storm of
    reconnecting tabs queued behind itself and everybody's messages.  This
    is one call, off that thread (it needs no other call's state).  Below
    ``SessionMiddleware``, which finds the session key in the cookie.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        session = scope.get("session")
        key = session.session_key if session is not None else None
        login = (
            await database_sync_to_async_unshared(session_login)(session_key=key) if key else None
        )
        scope = {
            **scope,
            "user": login.user if login is not None else AnonymousUser(),
            "session_expires_at": login.expires_at if login is not None else None,
        }
        return await self.inner(scope, receive, send)


def session_auth_stack(inner: Any) -> Any:
    """Return the cookie, session and session-login middleware around ``inner``."""
    return CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))
