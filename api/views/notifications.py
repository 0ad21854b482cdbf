"""Notifications and notification preferences."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.notifications import (
    NotificationSerializer,
    PreferencesSerializer,
    UnreadSerializer,
)
from api.views.lists import CursorListView
from notifications import selectors, services


def _unread(request: Request) -> Response:
    return Response({"unread": selectors.unread_count(user_id=request.user.pk)})


@extend_schema(tags=["notifications"])
class NotificationListView(CursorListView):
    """Your notifications."""

    cursor_ordering = ("-created_at", "-pk")

    @extend_schema(responses=NotificationSerializer(many=True))
    def get(self, request: Request) -> Response:
        """List your notifications, newest first."""
        return self.page_response(
            selectors.notifications_of(user=request.user), NotificationSerializer
        )


@extend_schema(tags=["notifications"])
class UnreadView(APIView):
    """The unread count (the bell)."""

    @extend_schema(responses=UnreadSerializer)
    def get(self, request: Request) -> Response:
        """Return how many notifications are unread."""
        return _unread(request)


@extend_schema(tags=["notifications"])
class NotificationReadView(APIView):
    """Marking one notification read."""

    @extend_schema(request=None, responses=UnreadSerializer, operation_id="notifications_read")
    def post(self, request: Request, notification_id: int) -> Response:
        """Mark one notification read; answer the unread count."""
        if selectors.notification_get(user=request.user, notification_id=notification_id) is None:
            raise NotFound()
        services.notification_mark_read(user=request.user, notification_id=notification_id)
        return _unread(request)


@extend_schema(tags=["notifications"])
class NotificationReadAllView(APIView):
    """Marking every notification read."""

    @extend_schema(request=None, responses=UnreadSerializer, operation_id="notifications_read_all")
    def post(self, request: Request) -> Response:
        """Mark all your notifications read."""
        services.notifications_mark_all_read(user=request.user)
        return _unread(request)


@extend_schema(tags=["notifications"])
class PreferencesView(APIView):
    """When and how you are notified."""

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request: Request) -> Response:
        """Return your notification preferences."""
        preferences = selectors.preferences_get(user_id=request.user.pk)
        return Response(PreferencesSerializer(preferences).data)

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def patch(self, request: Request) -> Response:
        """Change some of your notification preferences."""
        current = selectors.preferences_get(user_id=request.user.pk)
        serializer = PreferencesSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        saved = services.preferences_save(user=request.user, **serializer.validated_data)
        return Response(PreferencesSerializer(saved).data)
