"""Kafka handlers of the conversations app."""

from collections.abc import Sequence

from conversations.services import messages_store
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
