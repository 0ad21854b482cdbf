"""Attachment services: accept an upload, check it, store it, link it to its message.

The rules (README "Attachments"):

* the type is detected from the bytes, never taken from the name or the
  browser's claim; an upload whose name or declared type says one thing and
  whose bytes say another is refused (``type_mismatch``);
* JPEG, PNG, GIF and WebP images are shown inline, with a WebP thumbnail
  made from the pixels (the header's pixel count is checked before any
  decoding, as for avatars);
* everything else that is allowed is served as a download only
  (``Content-Disposition: attachment``), text as ``text/plain``;
* executables, scripts, HTML and SVG are refused, by their bytes and by
  their name (a downloaded file keeps its name, and systems act on it);
* the uploaded name is kept only as data, sanitised; the storage path is
  the random token;
* an upload belongs to its uploader until it is sent: only they may attach
  it to a message, in the conversation it was uploaded to, once.
"""

import logging
import mimetypes
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from conversations import selectors
from conversations.models import Attachment, Message
from messenger.errors import RuleError
from messenger.images import (
    ImageRefused,
    picture_load,
    picture_thumbnail,
    picture_without_metadata,
)
from messenger.ratelimit import rate_limit_hit_sync

logger = logging.getLogger(__name__)

INLINE_IMAGE_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
TEXT_TYPE = "text/plain"
UNKNOWN_TYPE = "application/octet-stream"
# Detected from the bytes: never accepted.
REFUSED_TYPES = {
    "application/x-msdownload",  # Windows PE (exe, dll)
    "application/x-executable",
    "application/x-elf",
    "application/x-mach-binary",
    "application/x-sharedlib",
    "application/vnd.microsoft.portable-executable",
    "application/x-dex",
    "application/wasm",
    "application/x-shockwave-flash",
    "application/x-java-applet",
}
# Names that make a system run or render the file, whatever its bytes.
REFUSED_EXTENSIONS = {
    "exe", "dll", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "cpl", "vbs", "vbe",
    "js", "mjs", "jse", "wsf", "wsh", "ps1", "psm1", "hta", "jar", "apk", "app", "deb",
    "rpm", "sh", "bash", "zsh", "csh", "command", "run", "bin", "elf", "so", "dylib",
    "html", "htm", "xhtml", "shtml", "svg", "svgz", "xml", "xsl", "xslt", "php", "lnk",
    "reg", "url", "desktop", "appimage", "wasm", "swf", "mhtml", "mht",
}  # fmt: skip
# Declared types that must never be served, even as text.
ACTIVE_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "text/xml",
    "application/xml",
}
# Declared types that any text file may carry.
TEXT_LIKE_TYPES = {
    "application/json",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
    "application/x-sh",
    "application/sql",
    "application/x-python-code",
}
# Containers that are also zip files: a declared ".docx" may be detected as zip.
ZIP_FAMILY = {
    "application/zip",
    "application/java-archive",
    "application/epub+zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
SNIFF_BYTES = 8192
MAX_NAME_LENGTH = 255
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


class AttachmentError(RuleError):
    """An upload or a use of one that the rules refuse; ``code`` is documented."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.status = status


def size_limit_text() -> str:
    """Return the upload limit as people read it: "25 MB"."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit:,} bytes"


def name_sanitise(raw: str | None) -> str:
    """Return a harmless display name for an uploaded file name.

    Only the last path component survives (both separators), control and
    reserved characters become ``_``, leading dots and spaces go, and the
    result keeps its extension within 255 characters.  The name is never
    used as a storage path: it is data, shown and offered as the download's
    name.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cf", "Cs", "Co", "Cn"})
    name = name.strip().lstrip(". ").rstrip(". ")
    if not name or set(name) <= {"_", "."}:
        name = "file"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniffing window is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _detect(head: bytes) -> str:
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if not head:
        return UNKNOWN_TYPE
    return TEXT_TYPE if _is_text(head) else UNKNOWN_TYPE


def _same_family(declared: str, detected: str) -> bool:
    if declared == detected:
        return True
    if declared in {"image/jpg", "image/pjpeg"} and detected == "image/jpeg":
        return True
    if detected == TEXT_TYPE:
        return declared.startswith("text/") or declared in TEXT_LIKE_TYPES
    if declared in ZIP_FAMILY and detected in ZIP_FAMILY:
        return True
    # Audio and video containers carry many names for one format.
    major = declared.split("/", 1)[0]
    return major in {"audio", "video"} and detected.split("/", 1)[0] in {"audio", "video"}


def _check_type(*, name: str, declared: str | None, detected: str) -> None:
    extension = _extension(name)
    if extension in REFUSED_EXTENSIONS:
        raise AttachmentError(
            "type_refused", "Programs, scripts, HTML and SVG files can't be shared."
        )
    if detected in REFUSED_TYPES:
        raise AttachmentError("type_refused", "Programs can't be shared.")
    by_name = mimetypes.guess_type(f"x.{extension}")[0] if extension else None
    claims = [c for c in (by_name, (declared or "").split(";")[0].strip().lower()) if c]
    for claim in claims:
        if claim in ACTIVE_TYPES:
            raise AttachmentError(
                "type_refused", "Programs, scripts, HTML and SVG files can't be shared."
            )
        if claim == UNKNOWN_TYPE:
            continue
        if not _same_family(claim, detected):
            raise AttachmentError(
                "type_mismatch",
                f"The file says it is {claim} but its contents are {detected}; it was not"
                " uploaded.",
            )


def _thumbnail(upload: UploadedFile) -> tuple[bytes, str, int, int]:
    """Return (WebP thumbnail, content type, width, height) of an inline image."""
    box = (settings.ATTACHMENT_THUMBNAIL_SIZE, settings.ATTACHMENT_THUMBNAIL_SIZE)
    try:
        picture = picture_load(
            upload,
            formats=INLINE_IMAGE_TYPES,
            max_pixels=settings.ATTACHMENT_MAX_PIXELS,
            draft_box=box,
        )
    except ImageRefused as refused:
        message = "That image format can't be shown." if refused.code == "bad_type" else None
        code = "bad_image" if refused.code == "bad_type" else refused.code
        raise AttachmentError(code, message or refused.message) from None
    content_type = INLINE_IMAGE_TYPES[picture.format]
    return picture_thumbnail(picture, box=box), content_type, picture.width, picture.height


def attachment_upload(*, user: User, conversation_id: int, upload: UploadedFile) -> Attachment:
    """Check and store an upload to a conversation; return its unsent Attachment.

    Nothing is stored unless every check passes.
    """
    refusal = selectors.send_refusal(user_id=user.pk, conversation_id=conversation_id)
    if refusal == "forbidden":
        raise AttachmentError("forbidden", "You are not a member of this conversation.", status=404)
    if refusal == "blocked":
        raise AttachmentError("blocked", "You can't send files to this person.", status=403)
    if rate_limit_hit_sync(
        scope="attachment",
        ident=str(user.pk),
        limit=settings.ATTACHMENT_RATE_LIMIT,
        window_seconds=settings.ATTACHMENT_RATE_WINDOW_SECONDS,
    ):
        raise AttachmentError("rate_limited", "Too many uploads; wait a moment.", status=429)
    size = upload.size or 0
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise AttachmentError(
            "too_large", f"A file may be at most {size_limit_text()}.", status=413
        )
    if size == 0:
        raise AttachmentError("empty", "The file is empty.")
    name = name_sanitise(upload.name)
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    detected = _detect(head)
    _check_type(name=name, declared=upload.content_type, detected=detected)
    thumbnail: bytes | None = None
    width = height = None
    content_type = detected
    cleaned: bytes | None = None
    if detected in INLINE_IMAGE_TYPES.values():
        thumbnail, content_type, width, height = _thumbnail(upload)
        # What the camera wrote (GPS position, device) is not shared.
        cleaned = picture_without_metadata(upload)
        if cleaned is not None:
            size = len(cleaned)
    upload.seek(0)
    attachment = Attachment(
        token=uuid.uuid4(),
        conversation_id=conversation_id,
        uploader=user,
        content_type=content_type,
        size=size,
        original_name=name,
        width=width,
        height=height,
    )
    stored: list[str] = []
    try:
        # The storage path comes from the token (models.attachment_path).
        attachment.file.save(
            attachment.token.hex, upload if cleaned is None else ContentFile(cleaned), save=False
        )
        stored.append(attachment.file.name)
        if thumbnail is not None:
            attachment.thumbnail.save(
                f"{attachment.token.hex}.webp", ContentFile(thumbnail), save=False
            )
            stored.append(attachment.thumbnail.name)
        with transaction.atomic():
            attachment.save()
    except Exception:
        for path in stored:
            try:
                attachment.file.storage.delete(path)
            except Exception:
                logger.exception("could not remove %s after a failed upload", path)
        raise
    return attachment


def attachments_check(
    *, user_id: int, conversation_id: int, tokens: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Return the tokens, deduplicated, if the sender may attach them; else raise.

    Each must be the sender's own upload to this conversation, not yet sent.
    """
    unique = list(dict.fromkeys(tokens))
    if len(unique) > settings.ATTACHMENTS_PER_MESSAGE:
        raise AttachmentError(
            "too_many_attachments",
            f"A message has at most {settings.ATTACHMENTS_PER_MESSAGE} attachments.",
        )
    if not unique:
        return unique
    usable = set(
        Attachment.objects.filter(
            token__in=unique,
            uploader_id=user_id,
            conversation_id=conversation_id,
            message__isnull=True,
        ).values_list("token", flat=True)
    )
    if usable != set(unique):
        raise AttachmentError(
            "bad_attachment",
            "An attachment is unknown, already sent, or not yours to send here.",
        )
    return unique


def attachments_link(*, message: Message, tokens: Iterable[uuid.UUID]) -> int:
    """Attach the sender's unsent uploads to their stored message; idempotent.

    A token already linked (a replayed event, or a race between two sends of
    the same upload) is left where it is.
    """
    tokens = list(tokens)
    if not tokens:
        return 0
    return Attachment.objects.filter(
        token__in=tokens,
        uploader_id=message.sender_id,
        conversation_id=message.conversation_id,
        message__isnull=True,
    ).update(message=message)


def attachment_for_viewer(*, user: User, token: uuid.UUID) -> Attachment | None:
    """Return the attachment if the user may see it, else None.

    Members see attachments of stored, undeleted messages; an unsent upload
    is its uploader's alone.  Asked on every request: leaving a conversation
    ends access at once.
    """
    attachment = (
        Attachment.objects.filter(token=token, conversation__memberships__user=user)
        .select_related("message")
        .first()
    )
    if attachment is None:
        return None
    if attachment.message is None:
        return attachment if attachment.uploader_id == user.pk else None
    if attachment.message.deleted_at is not None:
        return None
    return attachment


def attachment_serialize(attachment: Attachment) -> dict[str, Any]:
    """Return an attachment as the JSON object messages and uploads carry."""
    is_image = attachment.content_type in INLINE_IMAGE_TYPES.values()
    return {
        "token": str(attachment.token),
        "name": attachment.original_name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "is_image": is_image,
        "width": attachment.width,
        "height": attachment.height,
        "url": reverse("conversations:attachment", args=[attachment.token]),
        "thumbnail_url": reverse("conversations:attachment_thumbnail", args=[attachment.token])
        if attachment.thumbnail
        else None,
    }


def attachments_unsent_purge(*, older_than: timedelta) -> int:
    """Delete uploads never sent with a message, and their files; return how many.

    An upload is meant to be sent within minutes; one still unsent after
    ``older_than`` was abandoned (the tab closed, the chip removed).
    """
    cutoff = timezone.now() - older_than
    stale = list(Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff))
    for attachment in stale:
        for field in (attachment.file, attachment.thumbnail):
            if field:
                try:
                    field.storage.delete(field.name)
                except Exception:
                    logger.exception("could not delete %s", field.name)
    Attachment.objects.filter(pk__in=[a.pk for a in stale], message__isnull=True).delete()
    return len(stale)
