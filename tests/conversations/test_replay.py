"""Rebuilding messages from the log: original numbers, ranges, idempotence."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Conversation, Message
from conversations.services import messages_store
from messenger.kafka.events import Envelope, MessageSent
from messenger.kafka.producer import publish_sync
from tests.factories import DirectConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def send(conversation: Conversation, count: int, *, start: datetime = T0) -> list[Envelope]:
    """Publish messages to Kafka and store them the way the consumer does."""
    sender = conversation.members.first()
    envelopes = [
        Envelope(
            payload=MessageSent(
                conversation_id=conversation.pk,
                sender_id=sender.pk,
                client_id=uuid.uuid4(),
                body=f"m{n + 1}",
            ),
            time=start + timedelta(minutes=n),
        )
        for n in range(count)
    ]
    for envelope in envelopes:
        publish_sync(envelope)
    messages_store(envelopes=envelopes)
    return envelopes


def stored(conversation: Conversation) -> list[tuple[int, str]]:
    return list(
        Message.objects.filter(conversation=conversation)
        .order_by("sequence")
        .values_list("sequence", "body")
    )


def replay(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("replay_messages", *args, stdout=out)
    return out.getvalue()


def test_deleted_rows_come_back_with_their_own_numbers_and_a_second_run_is_a_no_op(
    kafka_topics,
) -> None:
    chat = DirectConversationFactory()
    envelopes = send(chat, 10)
    before = {m.sequence: (m.event_id, m.client_id, m.created_at) for m in chat.messages.all()}
    Message.objects.filter(conversation=chat, sequence__in=[4, 5, 6, 7]).delete()

    assert "inserted 4," in replay()
    assert stored(chat) == [(n, f"m{n}") for n in range(1, 11)]
    after = {m.sequence: (m.event_id, m.client_id, m.created_at) for m in chat.messages.all()}
    assert after == before
    assert after[4][0] == envelopes[3].id

    assert "inserted 0, already stored 10," in replay()
    assert stored(chat) == [(n, f"m{n}") for n in range(1, 11)]


def test_a_conversation_emptied_entirely_is_renumbered_from_one_and_goes_on(kafka_topics) -> None:
    chat = DirectConversationFactory()
    send(chat, 5)
    Message.objects.filter(conversation=chat).delete()
    chat.refresh_from_db()
    assert chat.last_sequence == 5

    replay()
    assert stored(chat) == [(n, f"m{n}") for n in range(1, 6)]
    later = send(chat, 1, start=T0 + timedelta(hours=1))
    assert Message.objects.get(event_id=later[0].id).sequence == 6


def test_a_time_range_restores_only_its_messages_at_their_places(kafka_topics) -> None:
    chat = DirectConversationFactory()
    send(chat, 6)
    Message.objects.filter(conversation=chat).delete()

    # Minutes 2 and 3: the third and fourth messages.
    out = replay(
        "--since",
        (T0 + timedelta(minutes=2)).isoformat(),
        "--until",
        (T0 + timedelta(minutes=4)).isoformat(),
    )
    assert "6 message events, 2 in range: inserted 2," in out
    assert stored(chat) == [(3, "m3"), (4, "m4")]


def test_one_conversation_is_replayed_alone(kafka_topics) -> None:
    mine, other = DirectConversationFactory(), DirectConversationFactory()
    send(mine, 3)
    send(other, 3)
    Message.objects.all().delete()

    replay("--conversation", str(mine.pk))
    assert stored(mine) == [(1, "m1"), (2, "m2"), (3, "m3")]
    assert stored(other) == []


def test_a_dry_run_changes_nothing(kafka_topics) -> None:
    chat = DirectConversationFactory()
    send(chat, 3)
    Message.objects.filter(conversation=chat).delete()
    assert "would insert 3," in replay("--dry-run")
    assert stored(chat) == []


def test_a_number_held_by_another_message_is_reported_not_overwritten(kafka_topics) -> None:
    chat = DirectConversationFactory()
    send(chat, 3)
    intruder = Message.objects.get(conversation=chat, sequence=2)
    Message.objects.filter(conversation=chat, sequence=2).delete()
    Message.objects.create(
        conversation=chat,
        sender=intruder.sender,
        sequence=2,
        client_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        body="not from the log",
        created_at=intruder.created_at,
    )
    with pytest.raises(CommandError, match="1 sequence numbers"):
        replay()
    assert stored(chat) == [(1, "m1"), (2, "not from the log"), (3, "m3")]


def test_a_time_must_have_a_time_zone(kafka_topics) -> None:
    with pytest.raises(CommandError, match="time zone"):
        replay("--since", "2026-11-01T12:00:00")
