"""Kafka handlers of the conversations app."""

from collections.abc import Sequence

from django.db import transaction

from accounts.services import activity_apply
from conversations.services import messages_store, read_receipts_apply
from messenger.kafka.events import Envelope
from messenger.kafka.handlers import Handler, register
from messenger.kafka.topics import Topic


@register
class MessagesHandler(Handler):
    """Store and fan out the events of the ``messages`` topic."""

    topic = Topic.MESSAGES

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Store the batch in one transaction, then push it."""
        messages_store(envelopes=envelopes)


@register
class ActivityHandler(Handler):
    """Apply the ``activity`` topic: read receipts, presence, logouts."""

    topic = Topic.ACTIVITY

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Move read markers, record presence, close logged-out sessions."""
        with transaction.atomic():
            read_receipts_apply(envelopes=envelopes)
            activity_apply(envelopes=envelopes)
