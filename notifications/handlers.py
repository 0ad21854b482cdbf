"""Kafka handlers of the notifications app."""

from collections.abc import Sequence

from messenger.kafka.events import Envelope
from messenger.kafka.handlers import Handler, register
from messenger.kafka.topics import Topic
from notifications.services import notifications_deliver


@register
class NotificationsHandler(Handler):
    """Deliver the events of the ``notifications`` topic."""

    topic = Topic.NOTIFICATIONS

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Push the batch to its recipients."""
        notifications_deliver(envelopes=envelopes)
