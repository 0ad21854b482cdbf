"""Conversation pages: the list, one conversation, and starting one."""

import pytest
from django.test import Client
from django.urls import reverse

from conversations.models import Conversation, Message, Reaction
from conversations.services import messages_store
from tests.factories import (
    DirectConversationFactory,
    UserFactory,
    make_contacts,
    message_sent_envelope,
)

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client: Client) -> None:
    conversation = DirectConversationFactory()
    for url in (
        reverse("conversations:index"),
        reverse("conversations:detail", args=[conversation.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_the_conversation_page_shows_the_latest_messages_escaped(client: Client) -> None:
    alice, bob = UserFactory(), UserFactory()
    conversation = DirectConversationFactory(members=[alice, bob])
    messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=bob, body=f"note {n}")
            for n in range(60)
        ]
        + [
            message_sent_envelope(
                conversation=conversation, sender=bob, body="<img src=x onerror=alert(1)>"
            )
        ]
    )
    client.force_login(alice)
    response = client.get(reverse("conversations:detail", args=[conversation.pk]))
    assert response.status_code == 200
    shown = [message for message, _data in response.context["history"]]
    assert len(shown) == 50
    assert [m.sequence for m in shown] == list(range(12, 62))
    assert b"&lt;img src=x onerror=alert(1)&gt;" in response.content
    assert b"<img src=x" not in response.content
    assert response.context["chat_config"]["lastSequence"] == 61


def test_an_outsider_gets_a_404_not_the_conversation(client: Client) -> None:
    conversation = DirectConversationFactory()
    client.force_login(UserFactory())
    assert client.get(reverse("conversations:detail", args=[conversation.pk])).status_code == 404


def test_starting_a_conversation_opens_the_one_with_that_person(client: Client) -> None:
    alice, bob = UserFactory(), UserFactory(username="bob")
    make_contacts(alice, bob)
    client.force_login(alice)
    response = client.post(reverse("conversations:start"), {"username": "@Bob"})
    conversation = Conversation.objects.get()
    assert response["Location"] == reverse("conversations:detail", args=[conversation.pk])
    assert set(conversation.members.all()) == {alice, bob}
    again = client.post(reverse("conversations:start"), {"username": "bob"})
    assert again["Location"] == response["Location"]


@pytest.mark.parametrize("username", ["", "nobody", "self", "stranger"])
def test_starting_a_conversation_with_nobody_or_yourself_explains_why(
    client: Client, username: str
) -> None:
    me = UserFactory(username="self")
    UserFactory(username="stranger")
    client.force_login(me)
    response = client.post(reverse("conversations:start"), {"username": username}, follow=True)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]]
    assert Conversation.objects.count() == 0


def test_starting_needs_a_post(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get(reverse("conversations:start")).status_code == 405


def test_load_older_pages_back_by_sequence_for_members_only(client: Client) -> None:
    alice, bob = UserFactory(), UserFactory()
    conversation = DirectConversationFactory(members=[alice, bob])
    messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=bob, body=f"n{n}")
            for n in range(1, 121)
        ]
    )
    url = reverse("conversations:history", args=[conversation.pk])
    client.force_login(alice)
    page = client.get(url, {"before": 71}).json()
    assert [m["sequence"] for m in page["messages"]] == list(range(21, 71))
    assert page["more"] is True
    last = client.get(url, {"before": 21}).json()
    assert [m["sequence"] for m in last["messages"]] == list(range(1, 21))
    assert last["more"] is False
    assert client.get(url, {"before": "x"}).status_code == 400
    client.force_login(UserFactory())
    assert client.get(url, {"before": 71}).status_code == 404


def test_a_conversation_opens_around_a_sequence_and_offers_the_first_unread(client: Client) -> None:
    alice, bob = UserFactory(), UserFactory()
    conversation = DirectConversationFactory(members=[alice, bob])
    messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=bob, body=f"n{n}")
            for n in range(1, 201)
        ]
    )
    conversation.memberships.filter(user=alice).update(last_read_sequence=40)
    client.force_login(alice)
    response = client.get(reverse("conversations:detail", args=[conversation.pk]), {"around": 41})
    shown = [message.sequence for message, _data in response.context["history"]]
    assert shown == list(range(16, 66))
    assert response.context["first_unread"] == 41
    assert b'href="?around=41#m41"' in response.content


def test_the_history_shows_reactions_and_the_actions_live_messages_have(client: Client) -> None:
    alice, bob = UserFactory(), UserFactory()
    conversation = DirectConversationFactory(members=[alice, bob])
    messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=bob, body="from bob"),
            message_sent_envelope(conversation=conversation, sender=alice, body='from "alice"'),
        ]
    )
    from_bob, from_alice = Message.objects.filter(conversation=conversation).order_by("sequence")
    Reaction.objects.create(message=from_bob, user=alice, emoji="👍")
    Reaction.objects.create(message=from_bob, user=bob, emoji="👍")
    client.force_login(alice)
    page = client.get(reverse("conversations:detail", args=[conversation.pk])).content.decode()
    bob_item, alice_item = (
        page[page.index(f'id="m{m.sequence}"') :].split("</li>", 1)[0]
        for m in (from_bob, from_alice)
    )
    assert 'class="reaction mine" data-action="unreact" data-emoji="👍"' in bob_item
    assert "👍 2</button>" in bob_item
    assert 'data-action="reply"' in bob_item
    assert 'data-action="edit"' not in bob_item
    assert 'data-action="edit"' in alice_item
    assert 'data-body="from &quot;alice&quot;"' in alice_item


def test_the_list_draws_the_most_recent_conversations_and_counts_all_unread(
    client: Client, settings
) -> None:
    settings.SIDEBAR_SIZE = 2
    me = UserFactory()
    people = [UserFactory(display_name=f"Person {n}") for n in range(3)]
    for person in people:  # Person 2's conversation is the most recent.
        chat = DirectConversationFactory(members=[me, person])
        messages_store(envelopes=[message_sent_envelope(conversation=chat, sender=person)])
    client.force_login(me)

    page = client.get(reverse("conversations:index")).content.decode()
    everything = client.get(reverse("conversations:index"), {"all": "1"}).content.decode()

    assert "Person 2" in page
    assert "Person 1" in page
    assert "Person 0" not in page
    assert "Show 1 more conversation<" in page
    assert 'data-hidden-unread="1"' in page
    assert "<title>(3) " in page
    assert all(f"Person {n}" in everything for n in range(3))
    assert "more conversation" not in everything
