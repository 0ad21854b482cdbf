"""The base of the API's list endpoints: cursor pages of a selector's queryset."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api.pagination import Cursor


class CursorListView(GenericAPIView):
    """A view answering GET with one cursor page (set ``cursor_ordering``)."""

    pagination_class = Cursor
    cursor_ordering: tuple[str, ...] = ("-pk",)

    def page_response(
        self, queryset: QuerySet[Any], serializer_class: type[BaseSerializer], **context: Any
    ) -> Response:
        """Answer with the requested page of ``queryset``, serialised."""
        page = self.paginate_queryset(queryset)
        serializer = serializer_class(
            page, many=True, context={**self.get_serializer_context(), **context}
        )
        return self.get_paginated_response(serializer.data)
