"""Messages: history by sequence, sending, editing, deleting, reactions.

Every change goes through the same Kafka path as the WebSocket's frames (the
conversations services): the answer is 202 once Kafka has it, and the
consumer stores and pushes it.
"""

import uuid
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import ErrorSerializer
from api.serializers.messages import (
    AcceptedSerializer,
    HistoryPageSerializer,
    HistoryQuerySerializer,
    MessageEditSerializer,
    MessageSendSerializer,
    MessageSerializer,
    ReactionSetSerializer,
)
from api.views.conversations import member_conversation
from conversations import selectors, services
from conversations.models import Message
from messenger.kafka.events import Envelope

UNAVAILABLE = OpenApiResponse(ErrorSerializer, description="Kafka did not take it; retry.")


def _link(request: Request, **query: int) -> str:
    return request.build_absolute_uri(f"{request.path}?{urlencode(query)}")


def _accepted(envelope: Envelope, message: Message) -> Response:
    return Response(
        {
            "status": "accepted",
            "event_id": envelope.id,
            "conversation": message.conversation_id,
            "message": message.pk,
        },
        status=status.HTTP_202_ACCEPTED,
    )


def _member_message(request: Request, message_id: int) -> Message:
    message = selectors.message_get_for_member(user_id=request.user.pk, message_id=message_id)
    if message is None:
        raise NotFound()
    return message


@extend_schema(tags=["messages"])
class MessageListView(APIView):
    """A conversation's messages."""

    @extend_schema(
        parameters=[HistoryQuerySerializer],
        responses=HistoryPageSerializer,
        operation_id="messages_history",
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        """Return a page of history, oldest first: the newest page, or before/after/around a
        sequence.  ``previous`` and ``next`` link the pages on either side."""
        conversation = member_conversation(user=request.user, conversation_id=conversation_id)
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        limit: int = params["limit"]
        if "after" in params:
            page = selectors.messages_after(
                conversation_id=conversation.pk, after_sequence=params["after"], limit=limit
            )
        elif "around" in params:
            page = selectors.messages_around(
                conversation_id=conversation.pk, sequence=params["around"], limit=limit
            )
        else:
            page = selectors.messages_before(
                conversation_id=conversation.pk,
                before_sequence=params.get("before"),
                limit=limit,
            )
        # Sequences have no gaps (1, 2, 3, …): the ends tell whether more exist.
        older = bool(page) and page[0].sequence > 1
        newer = bool(page) and page[-1].sequence < conversation.last_sequence
        mentionable = {m.user.username.lower() for m in conversation.memberships.all()}
        return Response(
            {
                "results": MessageSerializer(
                    page, many=True, context={"mentionable": mentionable}
                ).data,
                "previous": _link(request, before=page[0].sequence, limit=limit) if older else None,
                "next": _link(request, after=page[-1].sequence, limit=limit) if newer else None,
                "last_sequence": conversation.last_sequence,
            }
        )

    @extend_schema(
        request=MessageSendSerializer,
        responses={202: AcceptedSerializer, 503: UNAVAILABLE},
        operation_id="messages_send",
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        """Send a message; 202 once Kafka has it.  The same ``client_id`` is stored once."""
        serializer = MessageSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        client_id: uuid.UUID = data.get("client_id") or uuid.uuid4()
        accepted = async_to_sync(services.message_send)(
            sender=request.user,
            conversation_id=conversation_id,
            client_id=client_id,
            body=data["body"],
            reply_to_id=data.get("reply_to"),
            attachment_tokens=data["attachments"],
        )
        return Response(
            {
                "status": "accepted",
                "event_id": accepted.envelope.id,
                "conversation": conversation_id,
                "client_id": client_id,
            },
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(tags=["messages"])
class MessageView(APIView):
    """One message of a conversation you are in."""

    @extend_schema(responses=MessageSerializer)
    def get(self, request: Request, message_id: int) -> Response:
        """Return one message."""
        found = _member_message(request, message_id)
        message = selectors.messages_by_ids(message_ids=[found.pk])[found.pk]
        members = selectors.members_named(conversation_ids=[found.conversation_id])
        mentionable = {name.lower() for _, name in members[found.conversation_id]}
        return Response(MessageSerializer(message, context={"mentionable": mentionable}).data)

    @extend_schema(
        request=MessageEditSerializer, responses={202: AcceptedSerializer, 503: UNAVAILABLE}
    )
    def patch(self, request: Request, message_id: int) -> Response:
        """Edit your own message."""
        serializer = MessageEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = _member_message(request, message_id)
        envelope = async_to_sync(services.message_edit)(
            user=request.user, message_id=message.pk, body=serializer.validated_data["body"]
        )
        return _accepted(envelope, message)

    @extend_schema(responses={202: AcceptedSerializer, 503: UNAVAILABLE})
    def delete(self, request: Request, message_id: int) -> Response:
        """Delete your own message: it becomes a tombstone for everyone."""
        message = _member_message(request, message_id)
        envelope = async_to_sync(services.message_delete)(user=request.user, message_id=message.pk)
        return _accepted(envelope, message)


@extend_schema(tags=["messages"])
class ReactionView(APIView):
    """Reactions to a message."""

    @extend_schema(
        request=ReactionSetSerializer, responses={202: AcceptedSerializer, 503: UNAVAILABLE}
    )
    def post(self, request: Request, message_id: int) -> Response:
        """Add (or, with ``added: false``, remove) your emoji reaction."""
        serializer = ReactionSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = _member_message(request, message_id)
        envelope = async_to_sync(services.reaction_set)(
            user=request.user,
            message_id=message.pk,
            emoji=serializer.validated_data["emoji"],
            added=serializer.validated_data["added"],
        )
        return _accepted(envelope, message)
