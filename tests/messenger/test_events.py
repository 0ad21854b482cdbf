"""The event schema: one versioned envelope, validated on both sides."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from messenger.kafka.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    Envelope,
    EventDecodeError,
    MessageSent,
    envelope_decode,
    envelope_encode,
)
from messenger.kafka.topics import Topic


def sample() -> Envelope:
    return Envelope(
        payload=MessageSent(
            conversation_id=7, sender_id=3, client_id=uuid.uuid4(), body="héllo <b>"
        ),
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def wire(**overrides: object) -> bytes:
    data = json.loads(envelope_encode(sample()))
    data.update(overrides)
    return json.dumps(data).encode()


def test_an_envelope_round_trips_through_json() -> None:
    original = sample()
    decoded = envelope_decode(envelope_encode(original))
    assert decoded == original


def test_the_wire_format_is_a_versioned_json_envelope() -> None:
    envelope = sample()
    data = json.loads(envelope_encode(envelope))
    assert data == {
        "v": SCHEMA_VERSION,
        "type": "message.sent",
        "id": str(envelope.id),
        "time": "2026-01-02T03:04:05+00:00",
        "payload": {
            "conversation_id": 7,
            "sender_id": 3,
            "client_id": str(envelope.payload.client_id),  # type: ignore[attr-defined]
            "body": "héllo <b>",
            "reply_to_id": None,
            "attachment_tokens": [],
        },
    }


def test_message_events_go_to_the_messages_topic_keyed_by_conversation() -> None:
    envelope = sample()
    assert envelope.topic is Topic.MESSAGES
    assert envelope.key() == "7"
    assert EVENT_TYPES["message.sent"] is MessageSent


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty record value"),
        (b"not json", "invalid envelope"),
        (b"[1, 2]", "invalid envelope"),
        (wire(v=2), "unsupported schema version 2"),
        (wire(type="message.exploded"), "unknown event type"),
        (wire(id="not-a-uuid"), "invalid envelope"),
        (wire(extra="field"), "invalid envelope"),
        (wire(payload={"conversation_id": 7}), "invalid message.sent payload"),
        (
            wire(
                payload={
                    "conversation_id": -1,
                    "sender_id": 3,
                    "client_id": str(uuid.uuid4()),
                    "body": "x",
                }
            ),
            "invalid message.sent payload",
        ),
        (
            wire(
                payload={
                    "conversation_id": 7,
                    "sender_id": 3,
                    "client_id": str(uuid.uuid4()),
                    "body": "",
                }
            ),
            "invalid message.sent payload",
        ),
        (wire(time="2026-01-02T03:04:05"), "no time zone"),
    ],
)
def test_anything_else_is_rejected_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(EventDecodeError, match=reason):
        envelope_decode(raw)
