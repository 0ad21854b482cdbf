"""The versioned event schema: one envelope, one model per event type.

Every record on every topic is a JSON envelope::

    {"v": 1, "type": "message.sent", "id": "<uuid>", "time": "<iso 8601>",
     "payload": {...}}

Producers build envelopes only through :func:`envelope_encode`; consumers read
them only through :func:`envelope_decode`, which validates the envelope and the
payload and raises :class:`EventDecodeError` for anything else.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from messenger.kafka.topics import Topic

SCHEMA_VERSION = 1

# Far above any configured message limit: the schema rejects absurd payloads,
# the service enforces the configured limit.
BODY_HARD_LIMIT = 100_000


class EventDecodeError(ValueError):
    """Raised when bytes from a topic are not a valid event envelope."""


class EventPayload(BaseModel):
    """Base of every event payload; subclasses are registered with :func:`event`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[Topic]

    def key(self) -> str:
        """Return the record key that keeps related events in order."""
        raise NotImplementedError


EVENT_TYPES: dict[str, type[EventPayload]] = {}

P = TypeVar("P", bound=type[EventPayload])


def event(event_type: str, *, topic: Topic) -> Callable[[P], P]:
    """Register a payload model under its wire type name."""

    def register(cls: P) -> P:
        if event_type in EVENT_TYPES:
            raise ValueError(f"event type {event_type!r} registered twice")
        cls.event_type = event_type
        cls.topic = topic
        EVENT_TYPES[event_type] = cls
        return cls

    return register


@event("message.sent", topic=Topic.MESSAGES)
class MessageSent(EventPayload):
    """A member sent a message; the consumer stores it and assigns its sequence."""

    conversation_id: int = Field(gt=0)
    sender_id: int = Field(gt=0)
    client_id: uuid.UUID
    # Empty only when the message carries attachments.
    body: str = Field(max_length=BODY_HARD_LIMIT)
    reply_to_id: int | None = Field(default=None, gt=0)
    # Uploaded files (conversations.Attachment tokens) the message carries.
    attachment_tokens: list[uuid.UUID] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _body_or_attachments(self) -> "MessageSent":
        if not self.body and not self.attachment_tokens:
            raise ValueError("a message has a body or attachments")
        return self

    def key(self) -> str:
        """Key by conversation: one conversation's events stay in order."""
        return str(self.conversation_id)


class ConversationEvent(EventPayload):
    """Base of the other events of a conversation, keyed like its messages."""

    conversation_id: int = Field(gt=0)

    def key(self) -> str:
        """Key by conversation: one conversation's events stay in order."""
        return str(self.conversation_id)


@event("message.edited", topic=Topic.MESSAGES)
class MessageEdited(ConversationEvent):
    """The sender changed a message's body."""

    message_id: int = Field(gt=0)
    editor_id: int = Field(gt=0)
    body: str = Field(min_length=1, max_length=BODY_HARD_LIMIT)


@event("message.deleted", topic=Topic.MESSAGES)
class MessageDeleted(ConversationEvent):
    """The sender deleted a message; it stays as a tombstone."""

    message_id: int = Field(gt=0)
    deleter_id: int = Field(gt=0)


@event("message.reaction", topic=Topic.MESSAGES)
class MessageReaction(ConversationEvent):
    """A member added or removed an emoji reaction."""

    message_id: int = Field(gt=0)
    user_id: int = Field(gt=0)
    emoji: str = Field(min_length=1, max_length=16)
    added: bool


@event("conversation.changed", topic=Topic.MESSAGES)
class ConversationChanged(ConversationEvent):
    """A group was created or renamed, or its membership changed: a system message.

    The change itself is already in PostgreSQL (access is revoked at once);
    this event puts it in the conversation's history.
    """

    actor_id: int = Field(gt=0)
    action: str = Field(pattern=r"^(created|renamed|member_added|member_removed|member_left)$")
    subject_id: int | None = Field(default=None, gt=0)
    title: str = Field(default="", max_length=120)
    # Makes the system message idempotent, like a client id.
    change_id: uuid.UUID


class UserEvent(EventPayload):
    """Base of the ``activity`` events, keyed by the user they are about."""

    user_id: int = Field(gt=0)

    def key(self) -> str:
        """Key by user: one person's activity stays in order."""
        return str(self.user_id)


@event("user.logged_in", topic=Topic.ACTIVITY)
class UserLoggedIn(UserEvent):
    """The user logged in."""


@event("user.logged_out", topic=Topic.ACTIVITY)
class UserLoggedOut(UserEvent):
    """The user logged out of one session; that session's sockets close."""

    session_hash: str = Field(default="", max_length=64)


@event("user.online", topic=Topic.ACTIVITY)
class UserOnline(UserEvent):
    """The user's first socket connected."""


@event("user.offline", topic=Topic.ACTIVITY)
class UserOffline(UserEvent):
    """The user's last socket went away (after a grace period for reconnects)."""


@event("conversation.read", topic=Topic.ACTIVITY)
class ConversationRead(UserEvent):
    """The user has read a conversation up to a sequence number."""

    conversation_id: int = Field(gt=0)
    sequence: int = Field(ge=0)


@event("contact.request.received", topic=Topic.NOTIFICATIONS)
class ContactRequestReceived(EventPayload):
    """Someone asked the recipient to become contacts."""

    recipient_id: int = Field(gt=0)
    request_id: int = Field(gt=0)
    from_user_id: int = Field(gt=0)
    message: str = Field(default="", max_length=200)

    def key(self) -> str:
        """Key by recipient: one person's notifications stay in order."""
        return str(self.recipient_id)


@event("contact.request.accepted", topic=Topic.NOTIFICATIONS)
class ContactRequestAccepted(EventPayload):
    """The person the recipient asked accepted their contact request."""

    recipient_id: int = Field(gt=0)
    request_id: int = Field(gt=0)
    by_user_id: int = Field(gt=0)

    def key(self) -> str:
        """Key by recipient: one person's notifications stay in order."""
        return str(self.recipient_id)


@event("message.notify", topic=Topic.NOTIFICATIONS)
class MessageNotify(EventPayload):
    """A message arrived in a conversation the recipient is not looking at."""

    recipient_id: int = Field(gt=0)
    conversation_id: int = Field(gt=0)
    message_id: int = Field(gt=0)
    sequence: int = Field(gt=0)
    sender_id: int = Field(gt=0)
    # The body mentions the recipient: it notifies even in a muted conversation.
    mention: bool = False

    def key(self) -> str:
        """Key by recipient: one person's notifications stay in order."""
        return str(self.recipient_id)


@event("group.member.added", topic=Topic.NOTIFICATIONS)
class GroupMemberAdded(EventPayload):
    """Someone added the recipient to a group conversation."""

    recipient_id: int = Field(gt=0)
    conversation_id: int = Field(gt=0)
    by_user_id: int = Field(gt=0)

    def key(self) -> str:
        """Key by recipient: one person's notifications stay in order."""
        return str(self.recipient_id)


@dataclass(frozen=True)
class Envelope:
    """An event with its identity, time and schema version."""

    payload: EventPayload
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: int = SCHEMA_VERSION

    @property
    def type(self) -> str:
        """Return the wire name of the payload's event type."""
        return self.payload.event_type

    @property
    def topic(self) -> Topic:
        """Return the logical topic this event belongs on."""
        return self.payload.topic

    def key(self) -> str:
        """Return the record key."""
        return self.payload.key()


class _WireEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: int
    type: str
    id: uuid.UUID
    time: datetime
    payload: dict[str, Any]


def envelope_encode(envelope: Envelope) -> bytes:
    """Serialise an envelope to the JSON bytes written to Kafka."""
    wire = {
        "v": envelope.version,
        "type": envelope.type,
        "id": str(envelope.id),
        "time": envelope.time.isoformat(),
        "payload": envelope.payload.model_dump(mode="json"),
    }
    return json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode()


def envelope_decode(raw: bytes | None) -> Envelope:
    """Parse and validate bytes read from Kafka into an envelope."""
    if raw is None:
        raise EventDecodeError("empty record value")
    try:
        wire = _WireEnvelope.model_validate_json(raw)
    except ValidationError as exc:
        raise EventDecodeError(f"invalid envelope: {_summary(exc)}") from exc
    if wire.v != SCHEMA_VERSION:
        raise EventDecodeError(f"unsupported schema version {wire.v}")
    model = EVENT_TYPES.get(wire.type)
    if model is None:
        raise EventDecodeError(f"unknown event type {wire.type!r}")
    try:
        payload = model.model_validate(wire.payload)
    except ValidationError as exc:
        raise EventDecodeError(f"invalid {wire.type} payload: {_summary(exc)}") from exc
    if wire.time.tzinfo is None:
        raise EventDecodeError("event time has no time zone")
    return Envelope(payload=payload, id=wire.id, time=wire.time, version=wire.v)


def _summary(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors()[:5]
    )
