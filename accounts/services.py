"""Writes of accounts: profiles, avatars, deactivation, personal access tokens."""

import hashlib
import logging
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AccessToken, User
from contacts.models import Contact
from messenger.errors import RuleError
from messenger.images import ImageRefused, picture_load, picture_thumbnail
from messenger.kafka.events import Envelope, UserLoggedOut, UserOffline, UserOnline
from messenger.realtime import frames_push, token_group, user_group

logger = logging.getLogger(__name__)

AVATAR_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


class ProfileError(RuleError):
    """A profile change the rules refuse; the message is shown to the person."""


@transaction.atomic
def profile_update(*, user: User, display_name: str, status_text: str) -> User:
    """Change the name and status others see."""
    user.display_name = display_name.strip()[:80]
    user.status_text = status_text.strip()[:140]
    user.save(update_fields=["display_name", "status_text"])
    return user


def _avatar_thumbnail(upload: UploadedFile) -> bytes:
    """Return the upload as a square WebP thumbnail, or raise ProfileError.

    Re-encoding from pixels drops every byte of the original file, metadata
    (EXIF, GPS) included.
    """
    if upload.size is None or upload.size > settings.AVATAR_MAX_BYTES:
        limit = settings.AVATAR_MAX_BYTES // (1024 * 1024)
        raise ProfileError("too_large", f"An avatar may be at most {limit} MB.")
    try:
        picture = picture_load(
            upload, formats=AVATAR_FORMATS, max_pixels=settings.AVATAR_MAX_PIXELS
        )
    except ImageRefused as refused:
        message = "Use a JPEG, PNG, GIF or WebP image." if refused.code == "bad_type" else None
        raise ProfileError(refused.code, message or refused.message) from None
    box = (settings.AVATAR_SIZE, settings.AVATAR_SIZE)
    return picture_thumbnail(picture, box=box, square=True)


@transaction.atomic
def avatar_set(*, user: User, upload: UploadedFile) -> User:
    """Replace the user's avatar with a thumbnail of the uploaded image."""
    thumbnail = _avatar_thumbnail(upload)
    old = user.avatar.name
    user.avatar.save(f"{uuid.uuid4().hex}.webp", ContentFile(thumbnail), save=False)
    user.save(update_fields=["avatar"])
    if old:
        transaction.on_commit(lambda: default_storage.delete(old))
    return user


@transaction.atomic
def avatar_remove(*, user: User) -> User:
    """Go back to the generated initials avatar."""
    old = user.avatar.name
    if old:
        user.avatar = ""
        user.save(update_fields=["avatar"])
        transaction.on_commit(lambda: default_storage.delete(old))
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Deactivate an account: no more log-ins, and its open sockets are closed.

    Sessions stop authenticating at once (Django's backends refuse inactive
    users on every request); the sockets are told to close after the commit.
    """
    user.is_active = False
    user.save(update_fields=["is_active"])
    transaction.on_commit(lambda: _sockets_close(user.pk))
    return user


def _sockets_close(user_id: int) -> None:
    frames_push([(user_group(user_id), {"type": "session.close"})])


@transaction.atomic
def activity_apply(*, envelopes: Sequence[Envelope]) -> None:
    """Apply presence and session events of the ``activity`` topic.

    Online/offline: record ``last_seen`` and tell the user's contacts (only
    contacts see presence; a block ends the contact).  Logout: close the
    sockets of that session.
    """
    sends: list[tuple[str, dict[str, Any]]] = []
    for envelope in envelopes:
        payload = envelope.payload
        if isinstance(payload, UserOnline | UserOffline):
            updated = (
                User.objects.filter(pk=payload.user_id)
                .filter(Q(last_seen__isnull=True) | Q(last_seen__lt=envelope.time))
                .update(last_seen=envelope.time)
            )
            if not updated:
                continue  # A replayed or out-of-date event.
            frame = {
                "type": "presence",
                "user_id": payload.user_id,
                "online": isinstance(payload, UserOnline),
                "last_seen": envelope.time.isoformat(),
            }
            contact_ids = Contact.objects.filter(contact_id=payload.user_id).values_list(
                "owner_id", flat=True
            )
            sends.extend((user_group(uid), frame) for uid in contact_ids)
        elif isinstance(payload, UserLoggedOut) and payload.session_hash:
            sends.append((f"session.{payload.session_hash}", {"type": "session.close"}))
    if sends:
        transaction.on_commit(lambda: frames_push(sends))


# A token is this prefix and 32 random bytes in URL-safe base64 (43
# characters): 256 bits, so a plain SHA-256 is enough to store it (no salt or
# slow hash needed, unlike a password), and it is found by its hash.
TOKEN_PREFIX = "msgr_"  # noqa: S105 (a public marker, not a secret)
_TOKEN_FORMAT = re.compile(r"msgr_[A-Za-z0-9_-]{43}")
TOKEN_DISPLAY_LENGTH = 12
# ``last_used_at`` is written at most once a minute per token, not on every request.
TOKEN_LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(RuleError):
    """A token change the rules refuse; the message is shown to the person."""


class TokenRejected(RuleError):
    """A presented token that does not authenticate; the message says why."""


@dataclass(frozen=True)
class CreatedToken:
    """A new token and its plaintext, which exists only in this answer."""

    token: AccessToken
    plaintext: str


def token_hash(plaintext: str) -> str:
    """Return the stored form of a token: the hex SHA-256 of its plaintext."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, user: User, name: str, scopes: Sequence[str], expires_at: datetime | None = None
) -> CreatedToken:
    """Create a personal access token; its plaintext is returned only here."""
    name = name.strip()
    if not name:
        raise TokenError("bad_name", "Give the token a name.")
    if len(name) > 100:
        raise TokenError("bad_name", "A token name may be at most 100 characters.")
    wanted = set(scopes)
    if not wanted or not wanted <= set(AccessToken.Scope.values):
        raise TokenError("bad_scopes", "Choose one or both scopes: read, write.")
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise TokenError("bad_expiry", "The expiry must be in the future.")
    # Serialise the user's token creations so the limit holds under races.
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    usable = (
        AccessToken.objects.filter(user=user, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .count()
    )
    if usable >= settings.ACCESS_TOKEN_MAX_PER_USER:
        raise TokenError(
            "too_many_tokens",
            f"You have {usable} tokens; revoke one before creating another.",
        )
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user,
        name=name,
        scopes=sorted(wanted),
        prefix=plaintext[:TOKEN_DISPLAY_LENGTH],
        secret_hash=token_hash(plaintext),
        expires_at=expires_at,
    )
    return CreatedToken(token=token, plaintext=plaintext)


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> AccessToken:
    """Revoke one of the user's tokens and close the sockets opened with it.

    Revoking a revoked token changes nothing.
    """
    token = AccessToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise TokenError("not_found", "You have no such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        group = token_group(token.pk)
        transaction.on_commit(lambda: frames_push([(group, {"type": "session.close"})]))
    return token


@transaction.atomic
def token_authenticate(*, plaintext: str) -> AccessToken:
    """Return the usable token with this plaintext (its user loaded), or raise TokenRejected."""
    if not _TOKEN_FORMAT.fullmatch(plaintext):
        raise TokenRejected(
            "token_malformed",
            f"The token is malformed: a token is '{TOKEN_PREFIX}' and 43 more characters.",
        )
    token = (
        AccessToken.objects.select_related("user").filter(secret_hash=token_hash(plaintext)).first()
    )
    if token is None:
        raise TokenRejected("token_invalid", "The token is not valid.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRejected("token_revoked", "The token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRejected(
            "token_expired", f"The token expired at {token.expires_at.isoformat()}."
        )
    if not token.user.is_active:
        raise TokenRejected("account_inactive", "The token's account is deactivated.")
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_LAST_USED_RESOLUTION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
