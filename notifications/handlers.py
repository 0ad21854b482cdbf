"""Kafka handlers of the notifications app."""

from collections.abc import Sequence

from messenger.kafka.events import Envelope
from messenger.kafka.handlers import Handler, register
from messenger.kafka.topics import Topic
from notifications.services import notifications_handle


@register
class NotificationsHandler(Handler):
    """Store, route and push the events of the ``notifications`` topic."""

    topic = Topic.NOTIFICATIONS

    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Store each notification once, schedule email and push, push it live."""
        notifications_handle(envelopes=envelopes)
