"""Message search: the same full-text search as the search page."""

from urllib.parse import urlencode

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_get_active
from api.serializers.messages import SearchPageSerializer, SearchQuerySerializer
from conversations.search import messages_search


@extend_schema(tags=["search"])
class MessageSearchView(APIView):
    """Full-text search over the messages of your conversations."""

    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchPageSerializer)
    def get(self, request: Request) -> Response:
        """Find messages, newest first; narrow by conversation and sender."""
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        sender = None
        if params.get("person"):
            sender = user_get_active(username=params["person"].strip().lstrip("@"))
            if sender is None:
                raise ValidationError({"person": [f"There is nobody called “{params['person']}”."]})
        limit = settings.SEARCH_PAGE_SIZE
        hits = messages_search(
            user=request.user,
            query=params["q"],
            conversation_id=params.get("conversation"),
            sender_id=sender.pk if sender else None,
            before_id=params.get("before"),
            limit=limit,
        )
        following = None
        if len(hits) == limit:
            more = {k: v for k, v in request.query_params.items() if k != "before"}
            more["before"] = str(hits[-1].message.pk)
            following = request.build_absolute_uri(f"{request.path}?{urlencode(more)}")
        return Response(SearchPageSerializer({"results": hits, "next": following}).data)
