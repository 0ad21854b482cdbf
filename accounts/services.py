"""Writes of accounts: profiles, avatars, deactivation."""

import logging
import uuid
from collections.abc import Sequence
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.models import User
from contacts.models import Contact
from messenger.errors import RuleError
from messenger.kafka.events import Envelope, UserLoggedOut, UserOffline, UserOnline
from messenger.realtime import frames_push, user_group

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
        # open() reads only the header: format and size are known before
        # any pixel is decompressed.
        with Image.open(upload) as image:
            if image.format not in AVATAR_FORMATS:
                raise ProfileError("bad_type", "Use a JPEG, PNG, GIF or WebP image.")
            width, height = image.size
            if width * height > settings.AVATAR_MAX_PIXELS:
                raise ProfileError("too_many_pixels", "That image has too many pixels.")
            image.load()
            picture = ImageOps.exif_transpose(image)
            mode = "RGBA" if "A" in picture.getbands() or "transparency" in image.info else "RGB"
            square = ImageOps.fit(
                picture.convert(mode),
                (settings.AVATAR_SIZE, settings.AVATAR_SIZE),
                Image.Resampling.LANCZOS,
            )
    except ProfileError:
        raise
    except Image.DecompressionBombError:
        # Pillow's own, higher limit, also checked from the header.
        raise ProfileError("too_many_pixels", "That image has too many pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ProfileError("bad_image", "That file is not an image we can read.") from None
    out = BytesIO()
    square.save(out, format="WEBP", quality=85)
    return out.getvalue()


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
