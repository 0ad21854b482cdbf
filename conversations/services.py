"""Writes of conversations and messages.

A message takes two steps.  :func:`message_send` checks the sender may send it
and hands the event to Kafka; once Kafka has it, the message is accepted and
the sender is acknowledged.  The ``messages`` consumer then calls
:func:`messages_store`, which stores each message exactly once and, after the
commit, pushes it to every member's open sockets.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from accounts.models import User
from contacts.selectors import block_exists_between, is_contact
from conversations import selectors
from conversations.models import Conversation, Membership, Message
from conversations.serializers import message_serialize
from messenger.kafka.events import Envelope, MessageSent
from messenger.kafka.producer import PublishError, publish_async
from messenger.logcontext import trace_logger
from messenger.metrics import message_latency_observe
from messenger.ratelimit import rate_limit_hit
from messenger.realtime import group_send_many, user_group
from notifications.services import message_notifications_publish

logger = logging.getLogger(__name__)


class ConversationError(Exception):
    """A request the rules refuse; ``code`` is the documented error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@transaction.atomic
def conversation_direct_get_or_create(*, user: User, other: User) -> Conversation:
    """Return the one-to-one conversation of two people, creating it on first use."""
    if user.pk == other.pk:
        raise ConversationError("invalid", "You cannot start a conversation with yourself.")
    if not other.is_active:
        raise ConversationError("not_found", "No such person.")
    if block_exists_between(user_id=user.pk, other_id=other.pk):
        raise ConversationError("blocked", "You can't start a conversation with this person.")
    if not is_contact(user_id=user.pk, other_id=other.pk):
        raise ConversationError(
            "not_contact", f"Add {other.name} to your contacts before you write to them."
        )
    low, high = sorted((user.pk, other.pk))
    conversation, created = Conversation.objects.get_or_create(
        direct_key=f"{low}:{high}", defaults={"kind": Conversation.Kind.DIRECT}
    )
    if created:
        Membership.objects.bulk_create(
            [
                Membership(user=user, conversation=conversation),
                Membership(user=other, conversation=conversation),
            ]
        )
    return conversation


@dataclass(frozen=True)
class MessageAccepted:
    """Kafka has the message: it will be stored and delivered."""

    envelope: Envelope
    partition: int
    offset: int


async def message_send(
    *, sender: User, conversation_id: int, client_id: uuid.UUID, body: str
) -> MessageAccepted:
    """Check that the sender may send this message, and hand it to Kafka."""
    if not body.strip():
        raise ConversationError("body_empty", "The message is empty.")
    if len(body) > settings.MESSAGE_MAX_LENGTH:
        raise ConversationError(
            "body_too_long", f"A message has at most {settings.MESSAGE_MAX_LENGTH} characters."
        )
    if await rate_limit_hit(
        scope="message",
        ident=str(sender.pk),
        limit=settings.MESSAGE_RATE_LIMIT,
        window_seconds=settings.MESSAGE_RATE_WINDOW_SECONDS,
    ):
        raise ConversationError("rate_limited", "Too many messages; wait a moment.")
    refusal = await database_sync_to_async(selectors.send_refusal)(
        user_id=sender.pk, conversation_id=conversation_id
    )
    if refusal == "forbidden":
        # The same answer for "does not exist" and "not yours": no probing.
        raise ConversationError("forbidden", "You are not a member of this conversation.")
    if refusal == "blocked":
        raise ConversationError("blocked", "You can't send messages to this person.")
    envelope = Envelope(
        payload=MessageSent(
            conversation_id=conversation_id, sender_id=sender.pk, client_id=client_id, body=body
        )
    )
    try:
        metadata = await publish_async(envelope)
    except PublishError:
        logger.exception(
            "message %s from user %s not accepted",
            client_id,
            sender.pk,
            extra={"event_id": str(envelope.id)},
        )
        raise ConversationError(
            "unavailable", "The message could not be sent right now; try again."
        ) from None
    trace_logger.info(
        "message accepted",
        extra={
            "event_id": str(envelope.id),
            "client_id": str(client_id),
            "conversation_id": conversation_id,
            "sender_id": sender.pk,
            "partition": metadata.partition,
            "offset": metadata.offset,
        },
    )
    return MessageAccepted(envelope=envelope, partition=metadata.partition, offset=metadata.offset)


@transaction.atomic
def messages_store(*, envelopes: Sequence[Envelope]) -> list[Message]:
    """Store sent messages exactly once each, in order, and push them after commit.

    A message whose ``(sender, client_id)`` is already stored is not stored
    again; it is pushed again, since the earlier push may not have happened
    (clients drop duplicates by message id).
    """
    by_conversation: dict[int, list[tuple[Envelope, MessageSent]]] = defaultdict(list)
    for envelope in envelopes:
        if isinstance(envelope.payload, MessageSent):
            by_conversation[envelope.payload.conversation_id].append((envelope, envelope.payload))
    result: list[Message] = []
    for conversation_id, items in by_conversation.items():
        result.extend(_conversation_messages_store(conversation_id=conversation_id, items=items))
    if result:
        transaction.on_commit(lambda: messages_push(messages=result))
        ids = [message.pk for message in result]
        transaction.on_commit(lambda: message_notifications_publish(message_ids=ids))
    return result


def _conversation_messages_store(
    *, conversation_id: int, items: list[tuple[Envelope, MessageSent]]
) -> list[Message]:
    # The row lock serialises every writer of this conversation, so sequence
    # numbers have no gaps and the duplicate check below cannot race.
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    known = {
        (m.sender_id, m.client_id): m
        for m in Message.objects.filter(
            sender_id__in={p.sender_id for _, p in items},
            client_id__in={p.client_id for _, p in items},
        )
    }
    senders = User.objects.in_bulk({p.sender_id for _, p in items})
    stored: list[Message] = []
    new: list[Message] = []
    sequence = conversation.last_sequence
    for envelope, payload in items:
        key = (payload.sender_id, payload.client_id)
        message = known.get(key)
        if message is None:
            sequence += 1
            message = Message(
                conversation=conversation,
                sender=senders[payload.sender_id],
                sequence=sequence,
                client_id=payload.client_id,
                event_id=envelope.id,
                body=payload.body,
                created_at=envelope.time,
            )
            known[key] = message
            new.append(message)
        else:
            message.sender = senders.get(message.sender_id) or message.sender
        stored.append(message)
    if new:
        Message.objects.bulk_create(new)
        conversation.last_sequence = sequence
        conversation.last_message_at = new[-1].created_at
        conversation.save(update_fields=["last_sequence", "last_message_at"])
    return stored


def messages_push(*, messages: Sequence[Message]) -> None:
    """Push stored messages to every member's sockets (best effort).

    The channel layer may drop a push; clients then get the message from
    PostgreSQL when they sync.  So a failure here is logged, never raised.
    """
    recipients: dict[int, list[int]] = {}
    sends: list[tuple[str, dict[str, Any]]] = []
    for message in messages:
        if message.conversation_id not in recipients:
            recipients[message.conversation_id] = selectors.member_ids(
                conversation_id=message.conversation_id
            )
        frame = {"type": "message.new", "message": message_serialize(message)}
        sends.extend((user_group(uid), frame) for uid in recipients[message.conversation_id])
    try:
        group_send_many(sends)
    except Exception:
        logger.exception("pushing %d messages failed; clients will catch up", len(messages))
        return
    for message in messages:
        # created_at is the event's time: when the socket handed it to Kafka.
        latency = message_latency_observe(accepted_at=message.created_at.timestamp())
        trace_logger.info(
            "message pushed",
            extra={
                "event_id": str(message.event_id),
                "message_id": message.pk,
                "conversation_id": message.conversation_id,
                "sequence": message.sequence,
                "recipients": len(recipients[message.conversation_id]),
                "latency_ms": round(latency * 1000, 1),
            },
        )
