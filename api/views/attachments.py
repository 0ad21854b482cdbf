"""Attachments: upload to a conversation, download through the authorising view."""

import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import error_body
from api.serializers.messages import AttachmentSerializer, UploadSerializer
from conversations import attachment_views
from conversations.attachments import attachment_upload, size_limit_text


@extend_schema(tags=["attachments"])
class AttachmentUploadView(APIView):
    """Uploads to a conversation, sent later with a message by token."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UploadSerializer}, responses={201: AttachmentSerializer}
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        """Upload one file; send its ``token`` in a message's ``attachments``."""
        declared = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.ATTACHMENT_MAX_BYTES + attachment_views.MULTIPART_OVERHEAD
        if declared.isdigit() and int(declared) > limit:
            # Refused before the body is read.
            return Response(
                error_body("too_large", f"A file may be at most {size_limit_text()}."),
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = attachment_upload(
            user=request.user,
            conversation_id=conversation_id,
            upload=serializer.validated_data["file"],
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The file, with its own content type.")


@extend_schema(tags=["attachments"])
class AttachmentDownloadView(APIView):
    """An attachment's file, for members of its conversation only."""

    @extend_schema(responses={(200, "*/*"): FILE})
    def get(self, request: Request, token: uuid.UUID) -> Any:
        """Download a file (images inline, anything else as an attachment)."""
        # The page's authorising view: membership checked on every request.
        return attachment_views.download(request._request, token=token)


@extend_schema(tags=["attachments"])
class AttachmentThumbnailView(APIView):
    """An image attachment's thumbnail."""

    @extend_schema(responses={(200, "image/webp"): FILE})
    def get(self, request: Request, token: uuid.UUID) -> Any:
        """Download an image's WebP thumbnail."""
        return attachment_views.thumbnail(request._request, token=token)
