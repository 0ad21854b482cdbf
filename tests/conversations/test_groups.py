"""Groups: created from contacts, run by admins, and every change in the history."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from conversations import groups
from conversations.models import Conversation, Membership, Message
from conversations.services import ConversationError
from messenger.kafka.topics import Topic
from notifications.models import Notification
from tests.conftest import receive_until, socket_connect, wait_until
from tests.factories import UserFactory, make_contacts


def people(n: int):
    owner = UserFactory(username="owner", display_name="Olga")
    others = [UserFactory(username=f"member{i}", display_name=f"M{i}") for i in range(n)]
    for person in others:
        make_contacts(owner, person)
    return owner, others


def refused(code: str, action, **kwargs) -> None:
    with pytest.raises(ConversationError) as error:
        action(**kwargs)
    assert error.value.code == code


@pytest.mark.django_db
def test_a_group_is_made_of_the_creators_contacts_with_the_creator_as_admin() -> None:
    owner, (a, b) = people(2)
    group = groups.group_create(creator=owner, title="  Book   club ", members=[a, b])
    assert (group.kind, group.title) == (Conversation.Kind.GROUP, "Book club")
    roles = dict(
        Membership.objects.filter(conversation=group).values_list("user__username", "role")
    )
    assert roles == {"owner": "admin", "member0": "member", "member1": "member"}


@pytest.mark.django_db
def test_strangers_empty_groups_and_blank_titles_are_refused() -> None:
    owner, (a,) = people(1)
    stranger = UserFactory()
    refused("not_contact", groups.group_create, creator=owner, title="x", members=[a, stranger])
    refused("invalid", groups.group_create, creator=owner, title="x", members=[])
    refused("invalid", groups.group_create, creator=owner, title="   ", members=[a])
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_only_admins_rename_add_and_remove() -> None:
    owner, (a, b, c) = people(3)
    make_contacts(a, c)
    group = groups.group_create(creator=owner, title="Team", members=[a, b])
    refused("not_admin", groups.group_rename, user=a, conversation_id=group.pk, title="Mine")
    refused("not_admin", groups.group_member_add, user=a, conversation_id=group.pk, person=c)
    refused("not_admin", groups.group_member_remove, user=a, conversation_id=group.pk, person=b)
    groups.group_rename(user=owner, conversation_id=group.pk, title="Team 2")
    groups.group_member_add(user=owner, conversation_id=group.pk, person=c)
    refused(
        "already_member", groups.group_member_add, user=owner, conversation_id=group.pk, person=c
    )
    groups.group_member_remove(user=owner, conversation_id=group.pk, person=b)
    group.refresh_from_db()
    assert group.title == "Team 2"
    assert set(group.members.values_list("username", flat=True)) == {"owner", "member0", "member2"}


@pytest.mark.django_db
def test_when_the_last_admin_leaves_the_longest_member_takes_over() -> None:
    owner, (a, b) = people(2)
    group = groups.group_create(creator=owner, title="Team", members=[a, b])
    groups.group_leave(user=owner, conversation_id=group.pk)
    admins = Membership.objects.filter(conversation=group, role=Membership.Role.ADMIN)
    assert [m.user for m in admins] == [a]
    refused("forbidden", groups.group_leave, user=owner, conversation_id=group.pk)


@pytest.mark.django_db(transaction=True)
def test_every_change_becomes_a_system_message_through_kafka(kafka_topics, consumer) -> None:
    owner, (a, b) = people(2)
    group = groups.group_create(creator=owner, title="Trip", members=[a])
    groups.group_rename(user=owner, conversation_id=group.pk, title="Trip 2026")
    groups.group_member_add(user=owner, conversation_id=group.pk, person=b)
    groups.group_member_remove(user=owner, conversation_id=group.pk, person=a)
    groups.group_leave(user=b, conversation_id=group.pk)
    expected = [
        "Olga created the group “Trip”.",
        "Olga renamed the group to “Trip 2026”.",
        "Olga added M1.",
        "Olga removed M0.",
        "M1 left.",
    ]
    wait_until(lambda: Message.objects.filter(conversation=group).count() == len(expected))
    stored = Message.objects.filter(conversation=group).order_by("sequence")
    assert [m.body for m in stored] == expected
    assert {m.kind for m in stored} == {Message.Kind.SYSTEM}
    assert [m.sequence for m in stored] == [1, 2, 3, 4, 5]


@pytest.mark.django_db(transaction=True)
async def test_a_removed_member_loses_access_at_once_open_socket_included(kafka_topics) -> None:
    owner, (a, b) = await database_sync_to_async(people)(2)
    group = await database_sync_to_async(groups.group_create)(
        creator=owner, title="T", members=[a, b]
    )
    socket, _, _ = await socket_connect(a)
    await database_sync_to_async(groups.group_member_remove)(
        user=owner, conversation_id=group.pk, person=a
    )
    removed = await receive_until(socket, "conversation.removed")
    assert removed["conversation"] == group.pk
    await socket.send_json_to(
        {
            "type": "message.send",
            "conversation": group.pk,
            "client_id": "7d5c5b8e-6a52-4f6b-9a51-5d1c1b2f3e4a",
            "body": "hi",
        }
    )
    assert (await receive_until(socket, "error"))["code"] == "forbidden"
    await socket.send_json_to({"type": "sync", "conversations": {str(group.pk): 0}})
    assert (await receive_until(socket, "error"))["code"] == "forbidden"
    await socket.disconnect()
    client = Client()
    await database_sync_to_async(client.force_login)(a)
    page = await database_sync_to_async(client.get)(
        reverse("conversations:detail", args=[group.pk])
    )
    assert page.status_code == 404


@pytest.mark.django_db
def test_the_group_forms(client: Client) -> None:
    owner, (a, _b) = people(2)
    client.force_login(owner)
    response = client.post(
        reverse("conversations:group_create"), {"title": "Club", "members": ["member0", "member1"]}
    )
    group = Conversation.objects.get(kind=Conversation.Kind.GROUP)
    assert response["Location"] == reverse("conversations:detail", args=[group.pk])
    change = reverse("conversations:group_change", args=[group.pk])
    client.post(change, {"action": "rename", "title": "Club 2"})
    client.post(change, {"action": "remove", "username": "member1"})
    group.refresh_from_db()
    assert group.title == "Club 2"
    assert set(group.members.values_list("username", flat=True)) == {"owner", "member0"}
    client.force_login(a)
    response = client.post(change, {"action": "rename", "title": "Hijack"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Only the group's admins can do that."
    ]
    client.post(change, {"action": "leave"})
    assert not Membership.objects.filter(conversation=group, user=a).exists()


@pytest.mark.django_db(transaction=True)
def test_people_added_to_a_group_are_notified(start_consumer) -> None:
    start_consumer(topics=[Topic.NOTIFICATIONS])
    owner, (a, b) = people(2)
    group = groups.group_create(creator=owner, title="Trip", members=[a])
    groups.group_member_add(user=owner, conversation_id=group.pk, person=b)
    wait_until(lambda: Notification.objects.filter(conversation=group).count() == 2)
    added = Notification.objects.filter(conversation=group).order_by("recipient__username")
    assert [(n.recipient, n.kind, n.actor) for n in added] == [
        (a, Notification.Kind.GROUP_ADDED, owner),
        (b, Notification.Kind.GROUP_ADDED, owner),
    ]
    assert not Notification.objects.filter(recipient=owner).exists()
