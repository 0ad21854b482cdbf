"""Login sessions that reach the sockets opened with them.

Django's database session store, plus: when a session ends (logout, or a login
as someone else, both flush it) its open sockets are closed at once; when its
key changes (a password change cycles it) they reconnect with the new one; and
:func:`session_expiry` tells a socket until when its session still lets it in.
"""

import logging
from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts.models import User
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


def session_expiry(*, session_key: str, user_id: int) -> datetime | None:
    """Return when the session stops authenticating the user; None if it already has.

    It has when it was deleted or expired, belongs to someone else, or was
    made before the user's password changed (Django's session hash check).
    """
    session = Session.objects.filter(
        session_key=session_key, expire_date__gt=timezone.now()
    ).first()
    if session is None:
        return None
    data = session.get_decoded()
    if str(data.get(SESSION_KEY)) != str(user_id) or not data.get(BACKEND_SESSION_KEY):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    stored_hash = data.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(stored_hash, expected) for expected in hashes):
        return None
    return session.expire_date
