"""Exactly once under restart: kill the consumer process mid-stream and start another.

The consumer is the real ``manage.py run_kafka_consumers`` in a child process,
killed with SIGKILL, so whatever it had stored but not yet committed to Kafka
is replayed by its successor.
"""

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from conversations.models import Message
from tests.conftest import child_env, receive_until, socket_connect
from tests.factories import DirectConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_BATCH = 200
SECOND_BATCH = 100


def consumer_process(prefix: str, group: str) -> subprocess.Popen[bytes]:
    # Small batches, so the kill lands between many commits.
    env = child_env(prefix, KAFKA_MAX_POLL_RECORDS="10")
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_kafka_consumers",
            "--topic",
            "messages",
            "--group",
            group,
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stored_count(conversation_id: int) -> int:
    return Message.objects.filter(conversation_id=conversation_id).count()


def complete_through(sequences: Iterable[int]) -> int:
    """Return the sequence up to which every message has been shown (sequences have no holes)."""
    seen = set(sequences)
    through = 0
    while through + 1 in seen:
        through += 1
    return through


async def wait_for_count(conversation_id: int, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = await database_sync_to_async(stored_count)(conversation_id)
        if count >= at_least:
            return count
        if time.monotonic() > deadline:
            raise AssertionError(f"only {count} of {at_least} messages stored in time")
        await asyncio.sleep(0.01)


async def send_stream(socket, conversation_id: int, bodies: list[str]) -> None:
    client_ids = [str(uuid.uuid4()) for _ in bodies]
    for client_id, body in zip(client_ids, bodies, strict=True):
        await socket.send_json_to(
            {
                "type": "message.send",
                "conversation": conversation_id,
                "client_id": client_id,
                "body": body,
            }
        )
    acked = set()
    while len(acked) < len(client_ids):
        acked.add((await receive_until(socket, "message.ack"))["client_id"])
    assert acked == set(client_ids)


async def test_killing_the_consumer_mid_stream_loses_and_duplicates_nothing(
    kafka_topics, alice, bob
) -> None:
    chat = await database_sync_to_async(DirectConversationFactory)(members=[alice, bob])
    group = f"{kafka_topics}restart"
    sender, _, _ = await socket_connect(alice)
    recipient, _, _ = await socket_connect(bob)
    bodies = [f"message {n}" for n in range(FIRST_BATCH + SECOND_BATCH)]

    await send_stream(sender, chat.pk, bodies[:FIRST_BATCH])
    first = consumer_process(kafka_topics, group)
    await wait_for_count(chat.pk, 40)
    first.send_signal(signal.SIGKILL)
    # In a thread: this event loop runs the sockets and the channel-layer
    # watcher, which a wait of seconds would starve.
    await asyncio.to_thread(first.wait, 10)
    stored_at_kill = await database_sync_to_async(stored_count)(chat.pk)
    assert 0 < stored_at_kill < FIRST_BATCH, "the kill must land mid-stream"

    await send_stream(sender, chat.pk, bodies[FIRST_BATCH:])
    second = consumer_process(kafka_topics, group)
    await wait_for_count(chat.pk, len(bodies))
    second.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(second.wait, 30)
    assert exit_code == 0, second.stderr.read().decode() if second.stderr else ""

    stored = await database_sync_to_async(list)(
        Message.objects.filter(conversation=chat).order_by("sequence")
    )
    assert [m.sequence for m in stored] == list(range(1, len(bodies) + 1))
    assert [m.body for m in stored] == bodies

    # What the recipient's client shows: pushes deduplicated by id, then a
    # catch-up from the last sequence up to which it has every message (a
    # push the killed consumer had queued is lost for good); every message
    # exactly once, in order.  A communicator whose receive times out cancels
    # the app, so pushes are read only while some are waiting.
    shown: dict[int, int] = {}
    first_arrivals: list[int] = []
    while len(shown) < len(bodies) and not await recipient.receive_nothing(timeout=2):
        frame = await recipient.receive_json_from()
        if frame["type"] != "message.new":
            continue
        message = frame["message"]
        if message["id"] not in shown:
            shown[message["id"]] = message["sequence"]
            first_arrivals.append(message["sequence"])
    assert first_arrivals == sorted(first_arrivals)
    await recipient.send_json_to(
        {"type": "sync", "conversations": {str(chat.pk): complete_through(shown.values())}}
    )
    while (frame := await recipient.receive_json_from(timeout=15))["type"] != "sync.done":
        if frame["type"] == "message.new":
            shown.setdefault(frame["message"]["id"], frame["message"]["sequence"])
    assert sorted(shown.values()) == list(range(1, len(bodies) + 1))
    assert set(shown) == {m.pk for m in stored}
    await sender.disconnect()
    await recipient.disconnect()
