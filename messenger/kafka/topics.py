"""The registry of Kafka topics: every topic the application uses is declared here."""

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class Topic(StrEnum):
    """Logical topic names; the physical name adds the configured prefix."""

    MESSAGES = "messages"
    ACTIVITY = "activity"
    NOTIFICATIONS = "notifications"
    DEAD_LETTER = "dead-letter"


@dataclass(frozen=True)
class TopicSpec:
    """What a topic holds and what its record key means."""

    topic: Topic
    key: str
    description: str


TOPICS: dict[Topic, TopicSpec] = {
    Topic.MESSAGES: TopicSpec(Topic.MESSAGES, "conversation id", "message sent / edited / deleted"),
    Topic.ACTIVITY: TopicSpec(
        Topic.ACTIVITY, "user id", "logged in / out, online / offline, read up to"
    ),
    Topic.NOTIFICATIONS: TopicSpec(
        Topic.NOTIFICATIONS, "recipient user id", "notifications to deliver"
    ),
    Topic.DEAD_LETTER: TopicSpec(
        Topic.DEAD_LETTER,
        "original key",
        "events a consumer could not parse or handle, with the reason",
    ),
}


def topic_name(topic: Topic) -> str:
    """Return the physical topic name, with the deployment's prefix."""
    return f"{settings.KAFKA_TOPIC_PREFIX}{topic.value}"


def topic_from_name(name: str) -> Topic:
    """Return the logical topic for a physical topic name."""
    prefix = settings.KAFKA_TOPIC_PREFIX
    if not name.startswith(prefix):
        raise KeyError(name)
    return Topic(name[len(prefix) :])
