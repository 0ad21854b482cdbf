"""Conversation reads: membership and history pages."""

import pytest

from conversations import selectors
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
