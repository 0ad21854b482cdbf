"""Conversation reads: membership and history pages."""

import uuid

import pytest
from django.utils import timezone

from conversations import selectors
from conversations.models import Attachment, Membership, Message, Reaction
from conversations.serializers import message_serialize
from conversations.services import messages_store
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope

pytestmark = pytest.mark.django_db


def test_membership_is_checked_per_conversation() -> None:
    conversation = DirectConversationFactory()
    member = conversation.members.first()
    outsider = UserFactory()
    assert selectors.membership_exists(user_id=member.pk, conversation_id=conversation.pk)
    assert not selectors.membership_exists(user_id=outsider.pk, conversation_id=conversation.pk)
    assert (
        selectors.conversation_get_for_member(user=outsider, conversation_id=conversation.pk)
        is None
    )


def test_history_reads_the_latest_page_and_what_came_after_a_sequence() -> None:
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=sender, body=str(n))
            for n in range(1, 11)
        ]
    )
    latest = selectors.messages_latest(conversation_id=conversation.pk, limit=3)
    assert [m.sequence for m in latest] == [8, 9, 10]
    after = selectors.messages_after(conversation_id=conversation.pk, after_sequence=6, limit=2)
    assert [m.sequence for m in after] == [7, 8]


def test_a_direct_conversation_is_named_after_the_other_person() -> None:
    alice, bob = UserFactory(display_name="Alice"), UserFactory(display_name="Bob")
    conversation = DirectConversationFactory(members=[alice, bob])
    assert selectors.conversation_display_name(conversation=conversation, viewer=alice) == "Bob"
    assert selectors.conversation_display_name(conversation=conversation, viewer=bob) == "Alice"


def test_a_history_page_carries_senders_quotes_reactions_and_attachments() -> None:
    alice, bob = UserFactory(display_name="Alice"), UserFactory(display_name="Bob")
    conversation = DirectConversationFactory(members=[alice, bob])
    first, second, third = messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=alice, body="question?"),
            message_sent_envelope(conversation=conversation, sender=bob, body="answer"),
            message_sent_envelope(conversation=conversation, sender=bob, body="a file"),
        ]
    )
    Message.objects.filter(pk=second.pk).update(reply_to=first)
    Message.objects.filter(pk=first.pk).update(deleted_at=timezone.now())
    Reaction.objects.create(message=second, user=alice, emoji="👍")
    Reaction.objects.create(message=second, user=bob, emoji="👍")
    token = uuid.uuid4()
    Attachment.objects.create(
        token=token,
        conversation=conversation,
        uploader=bob,
        message=third,
        file="attachments/cat.png",
        content_type="image/png",
        size=3,
        original_name="cat.png",
        width=2,
        height=1,
    )

    page = selectors.messages_latest(conversation_id=conversation.pk, limit=10)

    assert [m.sequence for m in page] == [1, 2, 3]
    assert [m.sender.name for m in page] == ["Alice", "Bob", "Bob"]
    assert page[0].deleted_at is not None
    assert page[1].reply_to.pk == first.pk
    assert page[1].reply_to.sender.name == "Alice"
    assert page[1].reply_to.deleted_at is not None
    assert page[0].reply_to is None
    wire = message_serialize(page[1])
    assert wire["reactions"] == [{"emoji": "👍", "count": 2, "user_ids": [alice.pk, bob.pk]}]
    (attachment,) = message_serialize(page[2])["attachments"]
    assert attachment["token"] == str(token)
    assert attachment["name"] == "cat.png"
    assert (attachment["width"], attachment["height"]) == (2, 1)
    # The same wire shape as a message read through the ORM.
    for message in page:
        assert message_serialize(message) == message_serialize(Message.objects.get(pk=message.pk))


def test_messages_by_ids_reads_exactly_the_asked_messages() -> None:
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    stored = messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=sender, body=str(n))
            for n in range(5)
        ]
    )
    wanted = [stored[3].pk, stored[1].pk]

    found = selectors.messages_by_ids(message_ids=wanted)

    assert sorted(found) == sorted(wanted)
    assert found[stored[3].pk].body == "3"


def test_the_sidebar_lists_names_the_other_person_and_unread_counts_newest_first() -> None:
    me, bob, carol = (
        UserFactory(display_name="Me"),
        UserFactory(display_name="Bob"),
        UserFactory(username="carol", display_name=""),
    )
    older = DirectConversationFactory(members=[me, bob])
    newer = DirectConversationFactory(members=[me, carol])
    messages_store(
        envelopes=[message_sent_envelope(conversation=older, sender=bob, body="hi")]
        + [message_sent_envelope(conversation=newer, sender=carol, body=str(n)) for n in range(3)]
    )
    Membership.objects.filter(conversation=newer, user=me).update(last_read_sequence=1)

    entries = selectors.conversation_sidebar(user=me)

    assert [(e.pk, e.name, e.unread) for e in entries] == [
        (newer.pk, "carol", 2),
        (older.pk, "Bob", 1),
    ]
    assert entries[1].other == bob
    assert entries[1].other.name == "Bob"
