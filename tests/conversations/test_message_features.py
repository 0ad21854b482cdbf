"""Edits, deletions, replies, reactions, read receipts and typing, end to end:
socket → Kafka → consumer → PostgreSQL → every member's sockets."""

import uuid

import pytest
from channels.db import database_sync_to_async

from conversations.models import Membership, Message, Reaction
from messenger.kafka.topics import Topic
from tests.conftest import receive_until, socket_connect
from tests.factories import DirectConversationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def running(start_consumer):
    return start_consumer(topics=[Topic.MESSAGES, Topic.ACTIVITY])


@pytest.fixture
def chat(alice, bob):
    return DirectConversationFactory(members=[alice, bob])


async def send(socket, conversation_id: int, body: str, **extra) -> dict:
    client_id = str(uuid.uuid4())
    await socket.send_json_to(
        {
            "type": "message.send",
            "conversation": conversation_id,
            "client_id": client_id,
            "body": body,
            **extra,
        }
    )
    while True:
        frame = await receive_until(socket, "message.new")
        if frame["message"]["client_id"] == client_id:
            return frame["message"]


async def test_edit_delete_and_react_reach_every_member_live(running, chat, alice, bob) -> None:
    a, _, _ = await socket_connect(alice)
    b, _, _ = await socket_connect(bob)
    message = await send(a, chat.pk, "helo **world**")
    assert message["html"] == "<p>helo <strong>world</strong></p>\n"

    await a.send_json_to(
        {"type": "message.edit", "message": message["id"], "body": "hello **world**"}
    )
    edited = (await receive_until(b, "message.updated"))["message"]
    assert (edited["id"], edited["body"]) == (message["id"], "hello **world**")
    assert edited["edited_at"] is not None

    await b.send_json_to(
        {"type": "reaction", "message": message["id"], "emoji": "👍", "added": True}
    )
    reacted = (await receive_until(a, "message.updated"))["message"]
    while not reacted["reactions"]:  # Alice also gets her own edit's update.
        reacted = (await receive_until(a, "message.updated"))["message"]
    assert reacted["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.pk]}]

    await a.send_json_to({"type": "message.delete", "message": message["id"]})
    deleted = (await receive_until(b, "message.updated"))["message"]
    while not deleted["deleted"]:  # Bob also gets his own reaction's update.
        deleted = (await receive_until(b, "message.updated"))["message"]
    while not deleted["deleted"]:  # Bob's own reaction's update came first.
        deleted = (await receive_until(b, "message.updated"))["message"]
    assert (deleted["deleted"], deleted["body"], deleted["html"], deleted["reactions"]) == (
        True,
        "",
        "",
        [],
    )
    stored = await database_sync_to_async(Message.objects.get)(pk=message["id"])
    assert stored.deleted_at is not None
    assert stored.body == ""
    await a.disconnect()
    await b.disconnect()


async def test_nobody_changes_someone_elses_message(running, chat, alice, bob) -> None:
    a, _, _ = await socket_connect(alice)
    b, _, _ = await socket_connect(bob)
    message = await send(a, chat.pk, "mine")
    for frame in (
        {"type": "message.edit", "message": message["id"], "body": "hacked"},
        {"type": "message.delete", "message": message["id"]},
    ):
        await b.send_json_to(frame)
        assert (await receive_until(b, "error"))["code"] == "not_yours"
    stored = await database_sync_to_async(Message.objects.get)(pk=message["id"])
    assert (stored.body, stored.deleted_at) == ("mine", None)
    await a.disconnect()
    await b.disconnect()


async def test_a_reply_quotes_a_message_of_the_same_conversation_only(
    running, chat, alice, bob
) -> None:
    a, _, _ = await socket_connect(alice)
    original = await send(a, chat.pk, "question?")
    reply = await send(a, chat.pk, "answer", reply_to=original["id"])
    assert reply["reply_to"] == {
        "id": original["id"],
        "sequence": original["sequence"],
        "sender_name": "Alice",
        "excerpt": "question?",
    }
    carol = await database_sync_to_async(UserFactory)()
    elsewhere = await database_sync_to_async(DirectConversationFactory)(members=[alice, carol])
    await a.send_json_to(
        {
            "type": "message.send",
            "conversation": elsewhere.pk,
            "client_id": str(uuid.uuid4()),
            "body": "x",
            "reply_to": original["id"],
        }
    )
    assert (await receive_until(a, "error"))["code"] == "bad_reply"
    await a.disconnect()


async def test_reacting_after_leaving_or_with_a_non_emoji_is_refused(
    running, chat, alice, bob
) -> None:
    a, _, _ = await socket_connect(alice)
    message = await send(a, chat.pk, "hi")
    await a.send_json_to(
        {"type": "reaction", "message": message["id"], "emoji": "<b>", "added": True}
    )
    assert (await receive_until(a, "error"))["code"] == "bad_emoji"
    await database_sync_to_async(Membership.objects.filter(user=alice, conversation=chat).delete)()
    await a.send_json_to(
        {"type": "reaction", "message": message["id"], "emoji": "👍", "added": True}
    )
    assert (await receive_until(a, "error"))["code"] == "forbidden"
    assert not await database_sync_to_async(Reaction.objects.exists)()
    await a.disconnect()


async def test_read_receipts_move_forward_only_and_reach_the_sender(
    running, chat, alice, bob
) -> None:
    a, _, _ = await socket_connect(alice)
    b, _, _ = await socket_connect(bob)
    for n in range(3):
        last = await send(a, chat.pk, f"m{n}")
    await b.send_json_to({"type": "read", "conversation": chat.pk, "sequence": last["sequence"]})
    receipt = await receive_until(a, "receipt")
    assert receipt == {"type": "receipt", "conversation": chat.pk, "user_id": bob.pk, "sequence": 3}
    await b.send_json_to({"type": "read", "conversation": chat.pk, "sequence": 1})
    await b.send_json_to({"type": "read", "conversation": chat.pk, "sequence": 99})  # capped at 3
    await b.send_json_to({"type": "ping"})
    await receive_until(b, "pong")
    membership = await database_sync_to_async(Membership.objects.get)(user=bob, conversation=chat)
    assert membership.last_read_sequence == 3
    # Writing is reading: the sender has read their own messages.
    own = await database_sync_to_async(Membership.objects.get)(user=alice, conversation=chat)
    assert own.last_read_sequence == 3
    await a.disconnect()
    await b.disconnect()


async def test_typing_reaches_the_others_throttled_and_is_never_stored(
    kafka_topics, chat, alice, bob
) -> None:
    a, _, _ = await socket_connect(alice)
    b, _, _ = await socket_connect(bob)
    for _ in range(5):
        await a.send_json_to({"type": "typing", "conversation": chat.pk})
    typing = await receive_until(b, "typing")
    assert typing == {
        "type": "typing",
        "conversation": chat.pk,
        "user": {"id": alice.pk, "name": "Alice"},
    }
    await a.send_json_to({"type": "ping"})
    await receive_until(a, "pong")
    assert await b.receive_nothing(timeout=0.3)  # the other four were throttled
    assert await a.receive_nothing(timeout=0.1)  # not echoed to the typist
    outsider = await database_sync_to_async(UserFactory)()
    o, _, _ = await socket_connect(outsider)
    await o.send_json_to({"type": "typing", "conversation": chat.pk})
    assert (await receive_until(o, "error"))["code"] == "forbidden"
    for socket in (a, b, o):
        await socket.disconnect()


async def test_dropping_a_socket_mid_stream_then_catching_up_leaves_no_gap_or_duplicate(
    running, chat, alice, bob
) -> None:
    a, _, _ = await socket_connect(alice)
    b, _, _ = await socket_connect(bob)
    total = 60
    for n in range(total):
        await a.send_json_to(
            {
                "type": "message.send",
                "conversation": chat.pk,
                "client_id": str(uuid.uuid4()),
                "body": f"n{n}",
            }
        )
    shown: dict[int, int] = {}
    while len(shown) < 15:
        message = (await receive_until(b, "message.new"))["message"]
        shown.setdefault(message["id"], message["sequence"])
    await b.disconnect()  # The network drops, mid-stream.

    b2, _, _ = await socket_connect(bob)
    last_seen = max(shown.values())
    await b2.send_json_to({"type": "sync", "conversations": {str(chat.pk): last_seen}})
    while len(shown) < total:
        frame = await b2.receive_json_from(timeout=15)
        if frame["type"] == "message.new":
            if frame["message"]["id"] in shown:
                continue  # A live push that the sync also returned: shown once.
            shown[frame["message"]["id"]] = frame["message"]["sequence"]
        elif frame["type"] == "sync.done" and len(shown) < total:
            await b2.send_json_to(
                {"type": "sync", "conversations": {str(chat.pk): max(shown.values())}}
            )
    assert sorted(shown.values()) == list(range(1, total + 1))
    stored = await database_sync_to_async(list)(
        Message.objects.filter(conversation=chat).values_list("pk", flat=True)
    )
    assert set(shown) == set(stored)
    await a.disconnect()
    await b2.disconnect()
