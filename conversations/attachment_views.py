"""Upload and download attachments; members only, on every request."""

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseBase, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthenticatedHttpRequest
from conversations.attachments import (
    INLINE_IMAGE_TYPES,
    TEXT_TYPE,
    AttachmentError,
    attachment_for_viewer,
    attachment_serialize,
    attachment_upload,
    size_limit_text,
)

# Room for the multipart envelope around the file.
MULTIPART_OVERHEAD = 64 * 1024
# Whatever a browser makes of the file, it runs nothing and loads nothing.
SANDBOX_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


@login_required
@require_POST
def upload(request: AuthenticatedHttpRequest, conversation_id: int) -> JsonResponse:
    """Accept one file (multipart field ``file``); answer its JSON or an error."""
    limit = settings.ATTACHMENT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    too_large = f"A file may be at most {size_limit_text()}."
    if declared > limit + MULTIPART_OVERHEAD:
        # Refused before the body is parsed.
        return _error("too_large", too_large, 413)
    try:
        files = request.FILES.getlist("file")
    except RequestDataTooBig:
        return _error("too_large", too_large, 413)
    if len(files) != 1:
        return _error("no_file", "Send exactly one file in the field 'file'.", 400)
    try:
        attachment = attachment_upload(
            user=request.user, conversation_id=conversation_id, upload=files[0]
        )
    except AttachmentError as exc:
        return _error(exc.code, exc.message, exc.status)
    return JsonResponse(attachment_serialize(attachment), status=201)


def _serve(request: AuthenticatedHttpRequest, token: uuid.UUID, *, thumbnail: bool) -> FileResponse:
    attachment = attachment_for_viewer(user=request.user, token=token)
    if attachment is None:
        # The same answer for "no such file" and "not yours": no probing.
        raise Http404("No such attachment")
    field = attachment.thumbnail if thumbnail else attachment.file
    if not field:
        raise Http404("No such attachment")
    try:
        handle = default_storage.open(field.name, "rb")
    except FileNotFoundError:
        raise Http404("No such attachment") from None
    if thumbnail:
        content_type, inline = "image/webp", True
    else:
        inline = attachment.content_type in INLINE_IMAGE_TYPES.values()
        content_type = attachment.content_type
        if content_type == TEXT_TYPE:
            content_type = "text/plain; charset=utf-8"
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=not inline,
        filename=attachment.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Referrer-Policy"] = "no-referrer"
    # The token never changes its file; only this person's browser keeps it.
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def download(request: AuthenticatedHttpRequest, token: uuid.UUID) -> HttpResponseBase:
    """Serve the file: images inline, everything else as a download."""
    return _serve(request, token, thumbnail=False)


@login_required
@require_GET
def thumbnail(request: AuthenticatedHttpRequest, token: uuid.UUID) -> HttpResponseBase:
    """Serve an image's WebP thumbnail."""
    return _serve(request, token, thumbnail=True)
