"""Conversations: list, open, create, rename, members, leave, read markers, mute."""

from asgiref.sync import async_to_sync
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_get_active
from api.serializers.conversations import (
    ConversationSerializer,
    DirectCreateSerializer,
    GroupCreateSerializer,
    GroupRenameSerializer,
    MemberSerializer,
    MuteSerializer,
    ReadSerializer,
)
from api.serializers.messages import AcceptedSerializer
from api.views.lists import CursorListView
from conversations import groups, selectors, services
from conversations.models import Conversation
from notifications import selectors as notification_selectors
from notifications.services import conversation_mute_set


def member_conversation(*, user: User, conversation_id: int) -> Conversation:
    """Return the conversation if the user is a member; 404 otherwise (also if none)."""
    conversation = selectors.conversation_get_for_member(user=user, conversation_id=conversation_id)
    if conversation is None:
        raise NotFound()
    return conversation


def conversation_response(request: Request, conversation_id: int, code: int = 200) -> Response:
    """Answer with the conversation as the requester sees it now."""
    conversation = member_conversation(user=request.user, conversation_id=conversation_id)
    muted = notification_selectors.muted_conversation_ids(user_id=request.user.pk)
    serializer = ConversationSerializer(conversation, context={"request": request, "muted": muted})
    return Response(serializer.data, status=code)


@extend_schema(tags=["conversations"])
class ConversationListView(CursorListView):
    """Your conversations."""

    # Most recently active first; a conversation without messages counts
    # from its creation.
    cursor_ordering = ("-activity_at", "-pk")

    @extend_schema(responses=ConversationSerializer(many=True))
    def get(self, request: Request) -> Response:
        """List your conversations with their unread counts, most recently active first."""
        conversations: QuerySet[Conversation] = selectors.conversation_list(
            user=request.user
        ).annotate(activity_at=Coalesce("last_message_at", "created_at"))
        muted = notification_selectors.muted_conversation_ids(user_id=request.user.pk)
        return self.page_response(conversations, ConversationSerializer, muted=muted)


@extend_schema(tags=["conversations"])
class DirectConversationView(APIView):
    """One-to-one conversations."""

    @extend_schema(request=DirectCreateSerializer, responses=ConversationSerializer)
    def post(self, request: Request) -> Response:
        """Open (creating on first use) the one-to-one conversation with a contact."""
        serializer = DirectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        other = user_get_active(username=serializer.validated_data["username"])
        if other is None:
            raise NotFound()
        conversation = services.conversation_direct_get_or_create(user=request.user, other=other)
        return conversation_response(request, conversation.pk)


def _people(usernames: list[str]) -> list[User]:
    found = []
    for index, username in enumerate(usernames):
        person = user_get_active(username=username.strip().lstrip("@"))
        if person is None:
            raise ValidationError({"members": {index: [f"There is nobody called “{username}”."]}})
        found.append(person)
    return found


@extend_schema(tags=["conversations"])
class GroupCreateView(APIView):
    """Group conversations."""

    @extend_schema(request=GroupCreateSerializer, responses={201: ConversationSerializer})
    def post(self, request: Request) -> Response:
        """Create a group with some of your contacts; you are its admin."""
        serializer = GroupCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = groups.group_create(
            creator=request.user,
            title=serializer.validated_data["title"],
            members=_people(serializer.validated_data["members"]),
        )
        return conversation_response(request, conversation.pk, status.HTTP_201_CREATED)


@extend_schema(tags=["conversations"])
class ConversationView(APIView):
    """One conversation of yours."""

    @extend_schema(responses=ConversationSerializer)
    def get(self, request: Request, conversation_id: int) -> Response:
        """Return a conversation with its members and read markers."""
        return conversation_response(request, conversation_id)

    @extend_schema(request=GroupRenameSerializer, responses=ConversationSerializer)
    def patch(self, request: Request, conversation_id: int) -> Response:
        """Rename a group (admins only)."""
        serializer = GroupRenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        groups.group_rename(
            user=request.user,
            conversation_id=conversation_id,
            title=serializer.validated_data["title"],
        )
        return conversation_response(request, conversation_id)


@extend_schema(tags=["conversations"])
class MemberListView(APIView):
    """A group's members."""

    @extend_schema(
        request=DirectCreateSerializer,
        responses={201: MemberSerializer},
        operation_id="conversations_members_add",
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        """Add one of your contacts to a group (admins only)."""
        serializer = DirectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        [person] = _people([serializer.validated_data["username"]])
        membership = groups.group_member_add(
            user=request.user, conversation_id=conversation_id, person=person
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["conversations"])
class MemberView(APIView):
    """One member of a group."""

    @extend_schema(responses={204: None}, operation_id="conversations_members_remove")
    def delete(self, request: Request, conversation_id: int, username: str) -> Response:
        """Remove a member (admins only); their access ends at once."""
        person = user_get_active(username=username)
        if person is None:
            raise NotFound()
        groups.group_member_remove(
            user=request.user, conversation_id=conversation_id, person=person
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["conversations"])
class LeaveView(APIView):
    """Leaving a group."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, conversation_id: int) -> Response:
        """Leave a group (the longest-standing member becomes admin if you were the last)."""
        groups.group_leave(user=request.user, conversation_id=conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["conversations"])
class ReadView(APIView):
    """Read receipts."""

    @extend_schema(request=ReadSerializer, responses={202: AcceptedSerializer})
    def post(self, request: Request, conversation_id: int) -> Response:
        """Mark the conversation read up to a sequence (the marker only moves forward)."""
        serializer = ReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        envelope = async_to_sync(services.conversation_read)(
            user=request.user,
            conversation_id=conversation_id,
            sequence=serializer.validated_data["sequence"],
        )
        return Response(
            {"status": "accepted", "event_id": envelope.id, "conversation": conversation_id},
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(tags=["conversations"])
class MuteView(APIView):
    """Muting a conversation's notifications (mentions still notify)."""

    @extend_schema(request=MuteSerializer, responses=MuteSerializer)
    def put(self, request: Request, conversation_id: int) -> Response:
        """Mute or unmute a conversation."""
        serializer = MuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        muted: bool = serializer.validated_data["muted"]
        conversation_mute_set(user=request.user, conversation_id=conversation_id, muted=muted)
        return Response({"muted": muted})
