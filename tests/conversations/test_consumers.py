"""The WebSocket endpoint, through the full ASGI stack and the real services.

Frames and codes are those of docs/websocket-protocol.md.
"""

import json
import time
import uuid

import channels.consumer
import pytest
from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from contacts.models import Block
from conversations.consumers import CLOSE_UNAUTHENTICATED, ChatConsumer
from conversations.models import Message
from conversations.services import messages_store
from messenger.kafka.events import Envelope, MessageDeleted
from messenger.kafka.producer import producer_close
from messenger.realtime import user_group
from tests.conftest import database_sessions, receive_until, socket_connect
from tests.factories import (
    DirectConversationFactory,
    UserFactory,
    message_edited_envelope,
    message_sent_envelope,
    reaction_envelope,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(alice, bob):
    return DirectConversationFactory(members=[alice, bob])


def send_frame(conversation_id: int, body: str = "hello", client_id: str | None = None) -> dict:
    return {
        "type": "message.send",
        "conversation": conversation_id,
        "client_id": client_id or str(uuid.uuid4()),
        "body": body,
    }


async def test_a_message_travels_from_one_socket_through_kafka_to_the_other(
    kafka_topics, consumer, chat, alice, bob
) -> None:
    sender, _, _ = await socket_connect(alice)
    recipient, _, _ = await socket_connect(bob)
    frame = send_frame(chat.pk, body="Hi Bob <script>alert(1)</script>")

    started = time.perf_counter()
    await sender.send_json_to(frame)
    ack = await receive_until(sender, "message.ack")
    acked = time.perf_counter()
    pushed = await receive_until(recipient, "message.new")
    received = time.perf_counter()

    assert ack["client_id"] == frame["client_id"]
    assert ack["conversation"] == chat.pk
    message = pushed["message"]
    assert message["body"] == frame["body"]
    assert message["client_id"] == frame["client_id"]
    assert message["sequence"] == 1
    assert message["sender"] == {
        "id": alice.pk,
        "username": "alice",
        "name": "Alice",
        "initials": "A",
        "avatar": None,
    }
    # The sender's own sockets get the stored message too (other tabs).
    echoed = await receive_until(sender, "message.new")
    assert echoed["message"]["id"] == message["id"]
    stored = await database_sync_to_async(list)(Message.objects.filter(conversation=chat))
    assert [(m.pk, m.body) for m in stored] == [(message["id"], frame["body"])]
    print(
        f"\nend-to-end: ack {1000 * (acked - started):.1f} ms, "
        f"send→receive {1000 * (received - started):.1f} ms"
    )
    await sender.disconnect()
    await recipient.disconnect()


async def test_sending_keeps_no_connection_past_its_age(kafka_topics, chat, alice) -> None:
    # The rules of a send are checked off the shared thread; the connection
    # that check used must be closed like any other.
    sender, _, _ = await socket_connect(alice)
    before = await database_sync_to_async(database_sessions)()

    for body in ("one", "two", "three"):
        await sender.send_json_to(send_frame(chat.pk, body=body))
        await receive_until(sender, "message.ack")

    assert await database_sync_to_async(database_sessions)() == before
    await sender.disconnect()


async def test_every_open_socket_of_a_member_receives_the_message(
    kafka_topics, consumer, chat, alice, bob
) -> None:
    sender, _, _ = await socket_connect(alice)
    tabs = [(await socket_connect(bob))[0] for _ in range(3)]
    await sender.send_json_to(send_frame(chat.pk, body="to every tab"))
    for tab in tabs:
        assert (await receive_until(tab, "message.new"))["message"]["body"] == "to every tab"
        await tab.disconnect()
    await sender.disconnect()


async def test_sync_returns_what_was_stored_after_a_sequence(
    kafka_topics, consumer, chat, alice, bob
) -> None:
    sender, _, _ = await socket_connect(alice)
    # The sender's own copy of a message may come before the next ack: count
    # the copies while waiting for the acks, so that none is skipped.
    copies = 0
    for n in range(3):
        await sender.send_json_to(send_frame(chat.pk, body=f"m{n}"))
        while (frame := await sender.receive_json_from(timeout=15))["type"] != "message.ack":
            copies += frame["type"] == "message.new"
    while copies < 3:
        copies += (await sender.receive_json_from(timeout=15))["type"] == "message.new"
    late, _, _ = await socket_connect(bob)
    await late.send_json_to({"type": "sync", "conversations": {str(chat.pk): 1}})
    missed = [await receive_until(late, "message.new") for _ in range(2)]
    done = await receive_until(late, "sync.done")
    assert [m["message"]["body"] for m in missed] == ["m1", "m2"]
    assert done == {
        "type": "sync.done",
        "conversation": chat.pk,
        "last_sequence": 3,
        "last_change": 0,
        "more": False,
    }
    await sender.disconnect()
    await late.disconnect()


async def test_sync_resends_the_edits_deletions_and_reactions_made_while_away(
    kafka_topics, chat, alice, bob
) -> None:
    first, second, third = await database_sync_to_async(messages_store)(
        envelopes=[
            message_sent_envelope(conversation=chat, sender=alice, body=body)
            for body in ("one", "two", "three")
        ]
    )
    # Bob saw all three (change 0), then went away while Alice changed them.
    changes = [
        message_edited_envelope(message=first, editor=alice, body="1!"),
        reaction_envelope(message=second, user=alice, emoji="🎉"),
        Envelope(
            payload=MessageDeleted(
                conversation_id=chat.pk, message_id=third.pk, deleter_id=alice.pk
            )
        ),
    ]
    await database_sync_to_async(messages_store)(envelopes=changes)

    back, _, _ = await socket_connect(bob)
    await back.send_json_to(
        {"type": "sync", "conversations": {str(chat.pk): 3}, "changes": {str(chat.pk): 1}}
    )
    updated = [await receive_until(back, "message.updated") for _ in range(2)]
    done = await receive_until(back, "sync.done")

    # Change 1 (the edit) was already seen; the reaction and the deletion were not.
    assert [u["message"]["id"] for u in updated] == [second.pk, third.pk]
    assert updated[0]["message"]["reactions"][0]["emoji"] == "🎉"
    assert updated[1]["message"]["deleted"] is True
    assert done["last_change"] == 3
    assert done["more"] is False
    await back.send_json_to(
        {"type": "sync", "conversations": {str(chat.pk): 3}, "changes": {str(chat.pk): 3}}
    )
    assert (await back.receive_json_from(timeout=10))["type"] == "sync.done"
    await back.disconnect()


async def test_an_anonymous_socket_is_refused(kafka_topics) -> None:
    _, connected, code = await socket_connect(None)
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED


async def test_a_socket_from_a_foreign_origin_is_refused(kafka_topics, alice) -> None:
    _, connected, _ = await socket_connect(alice, origin=b"https://evil.example")
    assert not connected


async def test_a_deactivated_user_is_refused(kafka_topics) -> None:
    gone = await database_sync_to_async(UserFactory)(is_active=False)
    _, connected, _ = await socket_connect(gone)
    assert not connected


BAD_FRAMES = [
    ("not json", "bad_json"),
    (json.dumps([1, 2, 3]), "bad_frame"),
    (json.dumps({"no": "type"}), "bad_frame"),
    (json.dumps({"type": "message.explode"}), "unknown_type"),
    (json.dumps({"type": "message.send", "conversation": 1, "body": "x"}), "bad_frame"),
    (
        json.dumps({"type": "message.send", "client_id": str(uuid.uuid4()), "body": "x"}),
        "bad_frame",
    ),
    (
        json.dumps(
            {
                "type": "message.send",
                "conversation": True,
                "client_id": str(uuid.uuid4()),
                "body": "x",
            }
        ),
        "bad_frame",
    ),
    (json.dumps({"type": "sync", "conversations": [1]}), "bad_frame"),
    (json.dumps({"type": "sync", "conversations": {"1": -5}}), "bad_frame"),
    (json.dumps({"type": "sync", "conversations": {"1": 0}, "changes": {"1": "x"}}), "bad_frame"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_FRAMES)
async def test_a_malformed_frame_gets_its_error_and_the_socket_keeps_working(
    kafka_topics, consumer, chat, alice, raw, code
) -> None:
    socket, _, _ = await socket_connect(alice)
    await socket.send_to(text_data=raw)
    error = await receive_until(socket, "error")
    assert error["code"] == code
    assert error["message"]
    frame = send_frame(chat.pk)
    await socket.send_json_to(frame)
    assert (await receive_until(socket, "message.ack"))["client_id"] == frame["client_id"]
    await socket.disconnect()


async def test_a_binary_frame_is_rejected(kafka_topics, alice) -> None:
    socket, _, _ = await socket_connect(alice)
    await socket.send_to(bytes_data=b"\x00\x01")
    assert (await receive_until(socket, "error"))["code"] == "bad_json"
    await socket.disconnect()


@pytest.mark.parametrize(
    ("body", "code"),
    [("x" * 10_001, "body_too_long"), ("   \n", "body_empty"), (42, "bad_frame")],
)
async def test_a_bad_body_is_refused_and_nothing_is_sent(
    kafka_topics, chat, alice, body, code
) -> None:
    socket, _, _ = await socket_connect(alice)
    frame = send_frame(chat.pk, body=body)
    await socket.send_json_to(frame)
    error = await receive_until(socket, "error")
    assert (error["code"], error["client_id"]) == (code, frame["client_id"])
    await socket.disconnect()


async def test_a_message_of_exactly_the_limit_is_accepted(kafka_topics, chat, alice) -> None:
    socket, _, _ = await socket_connect(alice)
    await socket.send_json_to(send_frame(chat.pk, body="é" * 10_000))
    assert (await receive_until(socket, "message.ack"))["type"] == "message.ack"
    await socket.disconnect()


async def test_nobody_writes_into_a_conversation_they_are_not_in(kafka_topics, chat) -> None:
    outsider = await database_sync_to_async(UserFactory)()
    socket, _, _ = await socket_connect(outsider)
    for conversation_id in (chat.pk, 999_999_999):
        await socket.send_json_to(send_frame(conversation_id))
        assert (await receive_until(socket, "error"))["code"] == "forbidden"
    await socket.send_json_to({"type": "sync", "conversations": {str(chat.pk): 0}})
    assert (await receive_until(socket, "error"))["code"] == "forbidden"
    await socket.disconnect()


async def test_sending_too_fast_is_rate_limited(kafka_topics, settings, chat, alice) -> None:
    settings.MESSAGE_RATE_LIMIT = 2
    socket, _, _ = await socket_connect(alice)
    frames = [send_frame(chat.pk) for _ in range(3)]
    answers = []
    for frame in frames:
        await socket.send_json_to(frame)
        answers.append(await socket.receive_json_from(timeout=15))
    assert [a["type"] for a in answers] == ["message.ack", "message.ack", "error"]
    assert (answers[2]["code"], answers[2]["client_id"]) == ("rate_limited", frames[2]["client_id"])
    await socket.disconnect()


async def test_a_dead_broker_gets_a_clear_error_not_an_ack(
    kafka_topics, settings, chat, alice
) -> None:
    await database_sync_to_async(producer_close)()
    settings.KAFKA_BOOTSTRAP_SERVERS = ["127.0.0.1:1"]
    settings.KAFKA_PRODUCER_MAX_BLOCK_MS = 500
    settings.KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS = 1000
    try:
        socket, _, _ = await socket_connect(alice)
        frame = send_frame(chat.pk)
        await socket.send_json_to(frame)
        error = await receive_until(socket, "error", timeout=30)
        assert (error["code"], error["client_id"]) == ("unavailable", frame["client_id"])
        await socket.send_json_to({"type": "ping"})
        assert (await receive_until(socket, "pong"))["type"] == "pong"
        await socket.disconnect()
    finally:
        await database_sync_to_async(producer_close)()


async def test_nobody_writes_across_a_block_in_either_direction(
    kafka_topics, chat, alice, bob
) -> None:
    await database_sync_to_async(Block.objects.create)(blocker=bob, blocked=alice)
    for person in (alice, bob):
        socket, _, _ = await socket_connect(person)
        frame = send_frame(chat.pk)
        await socket.send_json_to(frame)
        error = await receive_until(socket, "error")
        assert (error["code"], error["client_id"]) == ("blocked", frame["client_id"])
        await socket.disconnect()
    assert not await database_sync_to_async(Message.objects.exists)()


async def test_frames_and_pushes_skip_channels_per_message_database_hop(
    kafka_topics, monkeypatch, alice
) -> None:
    # Channels' dispatch runs close_old_connections on the one shared database
    # thread before every message; the consumer's own dispatch does not.
    hops: list[None] = []

    async def counted() -> None:
        hops.append(None)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    socket, _, _ = await socket_connect(alice)
    await socket.send_json_to({"type": "ping"})
    assert (await receive_until(socket, "pong"))["type"] == "pong"
    await get_channel_layer().group_send(
        user_group(alice.pk), {"type": "notifications.unread", "unread": 3}
    )
    assert (await receive_until(socket, "notifications.unread"))["unread"] == 3
    await socket.disconnect()
    assert hops == []


async def test_an_answer_to_a_client_that_went_away_is_dropped_quietly() -> None:
    # daphne raises autobahn's Disconnected on a send to a closed socket;
    # raised, it ended the application with an error and a traceback.
    consumer = ChatConsumer()

    async def gone(message: dict) -> None:
        raise Disconnected("Attempt to send on a closed protocol")

    consumer.base_send = gone
    await consumer._send_json({"type": "pong"})
