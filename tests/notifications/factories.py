"""Builders of the notification tests: stored messages and the events about them."""

import uuid
from datetime import datetime

from django.utils import timezone

from accounts.models import User
from conversations.models import Conversation, Message
from messenger.kafka.events import Envelope, MessageNotify


def stored_message(
    *, conversation: Conversation, sender: User, body: str = "hello", at: datetime | None = None
) -> Message:
    """Store a message as the messages handler would."""
    conversation.last_sequence += 1
    conversation.save(update_fields=["last_sequence"])
    return Message.objects.create(
        conversation=conversation,
        sender=sender,
        sequence=conversation.last_sequence,
        client_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        body=body,
        created_at=at or timezone.now(),
    )


def notify_envelope(*, message: Message, recipient: User, mention: bool = False) -> Envelope:
    """Build the message.notify event of a message for one member."""
    return Envelope(
        payload=MessageNotify(
            recipient_id=recipient.pk,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            sequence=message.sequence,
            sender_id=message.sender_id,
            mention=mention,
        ),
        time=message.created_at,
    )
