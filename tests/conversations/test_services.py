"""Conversation services: one-to-one conversations and storing messages exactly once."""

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from contacts.models import Block
from conversations import selectors, services
from conversations.models import Conversation, Membership, Message
from conversations.serializers import message_serialize
from conversations.services import (
    ConversationError,
    conversation_direct_get_or_create,
    message_send,
    messages_store,
)
from messenger.prepared import prepared_rows
from messenger.realtime import user_group
from tests.conftest import free_port
from tests.factories import (
    DirectConversationFactory,
    UserFactory,
    make_contacts,
    message_edited_envelope,
    message_sent_envelope,
    reaction_envelope,
)

pytestmark = pytest.mark.django_db


def test_two_people_share_exactly_one_direct_conversation() -> None:
    alice, bob = UserFactory(), UserFactory()
    make_contacts(alice, bob)
    first = conversation_direct_get_or_create(user=alice, other=bob)
    second = conversation_direct_get_or_create(user=bob, other=alice)
    assert first == second
    assert set(first.members.all()) == {alice, bob}
    assert Conversation.objects.count() == 1


def test_nobody_starts_a_conversation_with_themselves() -> None:
    alice = UserFactory()
    with pytest.raises(ConversationError) as error:
        conversation_direct_get_or_create(user=alice, other=alice)
    assert error.value.code == "invalid"
    assert Conversation.objects.count() == 0


def test_a_deactivated_person_cannot_be_messaged() -> None:
    alice, gone = UserFactory(), UserFactory(is_active=False)
    make_contacts(alice, gone)
    with pytest.raises(ConversationError) as error:
        conversation_direct_get_or_create(user=alice, other=gone)
    assert error.value.code == "not_found"


def test_a_conversation_needs_an_accepted_contact() -> None:
    alice, stranger = UserFactory(), UserFactory()
    with pytest.raises(ConversationError) as error:
        conversation_direct_get_or_create(user=alice, other=stranger)
    assert error.value.code == "not_contact"
    assert Conversation.objects.count() == 0


def test_nobody_starts_a_conversation_across_a_block() -> None:
    alice, bob = UserFactory(), UserFactory()
    make_contacts(alice, bob)
    Block.objects.create(blocker=bob, blocked=alice)
    for user, other in ((alice, bob), (bob, alice)):
        with pytest.raises(ConversationError) as error:
            conversation_direct_get_or_create(user=user, other=other)
        assert error.value.code == "blocked"
    assert Conversation.objects.count() == 0


def test_messages_get_consecutive_sequence_numbers_in_event_order() -> None:
    conversation = DirectConversationFactory()
    alice, bob = conversation.members.all()
    envelopes = [
        message_sent_envelope(conversation=conversation, sender=alice, body="one"),
        message_sent_envelope(conversation=conversation, sender=bob, body="two"),
        message_sent_envelope(conversation=conversation, sender=alice, body="three"),
    ]
    stored = messages_store(envelopes=envelopes)
    assert [(m.sequence, m.body) for m in stored] == [(1, "one"), (2, "two"), (3, "three")]
    conversation.refresh_from_db()
    assert conversation.last_sequence == 3
    assert conversation.last_message_at == envelopes[-1].time


def test_a_replayed_event_is_a_no_op() -> None:
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    envelope = message_sent_envelope(conversation=conversation, sender=sender)
    [first] = messages_store(envelopes=[envelope])
    [again] = messages_store(envelopes=[envelope])
    assert again.pk == first.pk
    assert Message.objects.count() == 1
    conversation.refresh_from_db()
    assert conversation.last_sequence == 1


def test_the_same_client_id_twice_in_one_batch_is_stored_once() -> None:
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    client_id = uuid.uuid4()
    envelopes = [
        message_sent_envelope(conversation=conversation, sender=sender, client_id=client_id)
        for _ in range(2)
    ]
    stored = messages_store(envelopes=envelopes)
    assert stored[0] is stored[1]
    assert Message.objects.count() == 1


def test_each_conversation_numbers_its_own_messages() -> None:
    first, second = DirectConversationFactory(), DirectConversationFactory()
    envelopes = [
        message_sent_envelope(conversation=c, sender=c.members.first())
        for c in (first, second, first)
    ]
    stored = messages_store(envelopes=envelopes)
    assert sorted((m.conversation_id, m.sequence) for m in stored) == [
        (first.pk, 1),
        (first.pk, 2),
        (second.pk, 1),
    ]


def test_a_batch_advances_each_of_its_conversations_and_each_senders_read_marker() -> None:
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    first = DirectConversationFactory(members=[alice, bob])
    second = DirectConversationFactory(members=[alice, carol])
    envelopes = [
        message_sent_envelope(conversation=first, sender=alice),
        message_sent_envelope(conversation=second, sender=carol),
        message_sent_envelope(conversation=first, sender=bob),
        message_sent_envelope(conversation=second, sender=alice),
        message_sent_envelope(conversation=second, sender=carol),
    ]

    stored = messages_store(envelopes=envelopes)

    assert [(m.conversation_id, m.sequence) for m in stored] == [
        (first.pk, 1),
        (second.pk, 1),
        (first.pk, 2),
        (second.pk, 2),
        (second.pk, 3),
    ]
    assert {m.pk for m in stored} == set(Message.objects.values_list("pk", flat=True))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.last_sequence, first.last_message_at) == (2, envelopes[2].time)
    assert (second.last_sequence, second.last_message_at) == (3, envelopes[4].time)
    # Whoever writes has read everything up to what they wrote.
    read = {(m.conversation_id, m.user_id): m.last_read_sequence for m in Membership.objects.all()}
    assert read == {
        (first.pk, alice.pk): 1,
        (first.pk, bob.pk): 2,
        (second.pk, alice.pk): 2,
        (second.pk, carol.pk): 3,
    }


def test_a_batch_takes_the_same_three_statements_whatever_its_conversations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Per conversation, a busy consumer spent most of its time on round trips.
    chats = [DirectConversationFactory() for _ in range(5)]
    statements: list[str] = []

    def counted(sql: str, params: list[object]) -> list[tuple[Any, ...]]:
        statements.append(sql)
        return prepared_rows(sql, params)

    monkeypatch.setattr(services, "prepared_rows", counted)
    for batch in ([chats[0]], chats):
        statements.clear()
        stored = messages_store(
            envelopes=[
                message_sent_envelope(conversation=c, sender=c.members.first()) for c in batch
            ]
        )
        assert len(stored) == len(batch)
        assert len(statements) == 3


def test_a_reply_to_a_message_of_another_conversation_is_stored_without_the_quote() -> None:
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    ours = DirectConversationFactory(members=[alice, bob])
    theirs = DirectConversationFactory(members=[alice, carol])
    [elsewhere] = messages_store(
        envelopes=[message_sent_envelope(conversation=theirs, sender=carol)]
    )
    [here] = messages_store(envelopes=[message_sent_envelope(conversation=ours, sender=bob)])

    stored = messages_store(
        envelopes=[
            message_sent_envelope(conversation=ours, sender=alice, reply_to=here),
            message_sent_envelope(conversation=ours, sender=alice, reply_to=elsewhere),
        ]
    )

    assert [m.reply_to_id for m in stored] == [here.pk, None]


def test_a_batch_naming_a_conversation_that_does_not_exist_stores_nothing() -> None:
    chat = DirectConversationFactory()
    gone = DirectConversationFactory()
    envelopes = [
        message_sent_envelope(conversation=chat, sender=chat.members.first()),
        message_sent_envelope(conversation=gone, sender=gone.members.first()),
    ]
    gone.delete()

    with pytest.raises(Conversation.DoesNotExist):
        messages_store(envelopes=envelopes)

    assert Message.objects.count() == 0


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Collect the frames the push hands to the channel layer."""
    sends: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(services, "frames_push_nowait", lambda frames, then: sends.extend(frames))
    return sends


@pytest.fixture
def read_back(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Collect the ids of the messages the push reads back from PostgreSQL."""
    ids: list[int] = []
    read = selectors.messages_by_ids

    def counted(*, message_ids: list[int]) -> dict[int, Message]:
        ids.extend(message_ids)
        return read(message_ids=message_ids)

    monkeypatch.setattr(selectors, "messages_by_ids", counted)
    return ids


def test_a_new_message_is_pushed_as_stored_without_reading_it_back(
    pushed: list[tuple[str, dict[str, Any]]],
    read_back: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    alice, bob = UserFactory(display_name="Alice A."), UserFactory()
    chat = DirectConversationFactory(members=[alice, bob])

    with django_capture_on_commit_callbacks(execute=True):
        [stored] = messages_store(
            envelopes=[message_sent_envelope(conversation=chat, sender=alice, body="**hi**")]
        )

    assert read_back == []
    assert [group for group, _ in pushed] == [user_group(alice.pk), user_group(bob.pk)]
    # The frame is the one the message read from PostgreSQL makes.
    from_database = selectors.messages_by_ids(message_ids=[stored.pk])[stored.pk]
    mentionable = {alice.username.lower(), bob.username.lower()}
    expected = message_serialize(from_database, mentionable=mentionable)
    assert expected["sender"]["name"] == "Alice A."
    assert pushed[0][1] == {"type": "message.new", "message": expected}


def test_a_reply_and_a_changed_message_are_read_back_for_their_push(
    pushed: list[tuple[str, dict[str, Any]]],
    read_back: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    alice, bob = UserFactory(), UserFactory()
    chat = DirectConversationFactory(members=[alice, bob])
    [first] = messages_store(envelopes=[message_sent_envelope(conversation=chat, sender=bob)])
    reply = message_sent_envelope(conversation=chat, sender=alice, reply_to=first)
    plain = message_sent_envelope(conversation=chat, sender=alice, body="typo")

    with django_capture_on_commit_callbacks(execute=True):
        [replied, edited] = messages_store(envelopes=[reply, plain])
        messages_store(
            envelopes=[message_edited_envelope(message=edited, editor=alice, body="fixed")]
        )

    assert sorted(read_back) == [replied.pk, edited.pk]
    frames = {(f["type"], f["message"]["id"]): f["message"] for _, f in pushed}
    assert frames[("message.new", replied.pk)]["reply_to"]["id"] == first.pk
    assert frames[("message.updated", edited.pk)]["body"] == "fixed"


def test_each_applied_change_gets_the_conversations_next_change_number() -> None:
    alice, bob = UserFactory(), UserFactory()
    chat = DirectConversationFactory(members=[alice, bob])
    first, second = messages_store(
        envelopes=[
            message_sent_envelope(conversation=chat, sender=alice, body="one"),
            message_sent_envelope(conversation=chat, sender=bob, body="two"),
        ]
    )
    messages_store(
        envelopes=[
            message_edited_envelope(message=first, editor=alice, body="1"),
            # Not Bob's message to edit: refused, so no change number.
            message_edited_envelope(message=first, editor=bob, body="x"),
            reaction_envelope(message=second, user=alice),
            message_edited_envelope(message=first, editor=alice, body="2"),
        ]
    )

    chat.refresh_from_db()
    assert chat.last_change == 3
    assert Message.objects.get(pk=first.pk).change == 3
    assert Message.objects.get(pk=second.pk).change == 2
    changed = selectors.messages_changed(
        conversation_id=chat.pk, after_change=2, up_to_sequence=2, limit=10
    )
    assert [(m.pk, m.body) for m in changed] == [(first.pk, "2")]


@pytest.mark.django_db(transaction=True)
async def test_a_send_while_redis_is_away_is_refused_as_unavailable(settings) -> None:
    conversation = await database_sync_to_async(DirectConversationFactory)()
    sender = await database_sync_to_async(conversation.members.first)()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    with pytest.raises(ConversationError) as refused:
        await message_send(
            sender=sender, conversation_id=conversation.pk, client_id=uuid.uuid4(), body="hi"
        )

    assert refused.value.code == "unavailable"
