"""Storing, routing and reading notifications, and announcing messages on Kafka."""

import asyncio

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kafka import KafkaConsumer

from conversations import selectors as conversation_selectors
from conversations.models import Conversation, Membership
from messenger.kafka.events import (
    ContactRequestReceived,
    Envelope,
    GroupMemberAdded,
    envelope_decode,
)
from messenger.kafka.topics import Topic, topic_name
from notifications import services
from notifications.models import (
    ConversationMute,
    EmailBatch,
    Notification,
    Preferences,
    PushDelivery,
    PushSubscription,
)
from notifications.viewing import viewing_leave, viewing_set
from tests.factories import DirectConversationFactory, UserFactory
from tests.notifications.factories import notify_envelope, stored_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    alice = UserFactory(username="alice", display_name="Alice")
    bob = UserFactory(username="bob", display_name="Bob")
    return alice, bob, DirectConversationFactory(members=[alice, bob])


def test_the_same_event_is_stored_once(chat) -> None:
    alice, bob, conversation = chat
    envelope = notify_envelope(
        message=stored_message(conversation=conversation, sender=alice), recipient=bob
    )
    assert len(services.notifications_handle(envelopes=[envelope, envelope])) == 1
    assert services.notifications_handle(envelopes=[envelope]) == []
    assert Notification.objects.count() == 1
    assert EmailBatch.objects.get().message_count == 1


def test_a_message_notification_says_who_wrote_what_and_links_to_it(chat) -> None:
    alice, bob, conversation = chat
    message = stored_message(conversation=conversation, sender=alice, body="Hi\n\n  there " * 30)
    [notification] = services.notifications_handle(
        envelopes=[notify_envelope(message=message, recipient=bob)]
    )
    assert notification.kind == "message"
    assert notification.text == "Alice sent a message."
    assert notification.detail.startswith("Hi there Hi there")
    assert len(notification.detail) == 200
    assert notification.url == f"/conversations/{conversation.pk}/#m1"
    assert notification.actor == alice


def test_a_group_message_and_a_mention_name_the_group(chat) -> None:
    alice, bob, _ = chat
    group = Conversation.objects.create(kind=Conversation.Kind.GROUP, title="Team")
    Membership.objects.create(user=alice, conversation=group)
    Membership.objects.create(user=bob, conversation=group)
    plain = stored_message(conversation=group, sender=alice, body="standup?")
    mention = stored_message(conversation=group, sender=alice, body="@bob standup?")
    first, second = services.notifications_handle(
        envelopes=[
            notify_envelope(message=plain, recipient=bob),
            notify_envelope(message=mention, recipient=bob, mention=True),
        ]
    )
    assert first.text == "Alice wrote in Team."
    assert (second.kind, second.text) == ("mention", "Alice mentioned you in Team.")


def test_a_muted_conversation_stores_mentions_only(chat) -> None:
    alice, bob, conversation = chat
    ConversationMute.objects.create(user=bob, conversation=conversation)
    plain = stored_message(conversation=conversation, sender=alice)
    mention = stored_message(conversation=conversation, sender=alice, body="@bob")
    stored = services.notifications_handle(
        envelopes=[
            notify_envelope(message=plain, recipient=bob),
            notify_envelope(message=mention, recipient=bob, mention=True),
        ]
    )
    assert [n.kind for n in stored] == ["mention"]


def test_nothing_for_an_inactive_recipient_a_deleted_message_or_a_former_member(chat) -> None:
    alice, bob, conversation = chat
    carol = UserFactory(is_active=False)
    Membership.objects.create(user=carol, conversation=conversation)
    deleted = stored_message(conversation=conversation, sender=alice)
    deleted.deleted_at = timezone.now()
    deleted.save()
    message = stored_message(conversation=conversation, sender=alice)
    outsider = UserFactory()
    stored = services.notifications_handle(
        envelopes=[
            notify_envelope(message=message, recipient=carol),
            notify_envelope(message=deleted, recipient=bob),
            notify_envelope(message=message, recipient=outsider),
        ]
    )
    assert stored == []


def test_contact_and_group_events_become_notifications(chat) -> None:
    alice, bob, _ = chat
    group = Conversation.objects.create(kind=Conversation.Kind.GROUP, title="Team")
    Membership.objects.create(user=bob, conversation=group)
    request, added = services.notifications_handle(
        envelopes=[
            Envelope(
                payload=ContactRequestReceived(
                    recipient_id=bob.pk, request_id=1, from_user_id=alice.pk, message="hi"
                )
            ),
            Envelope(
                payload=GroupMemberAdded(
                    recipient_id=bob.pk, conversation_id=group.pk, by_user_id=alice.pk
                )
            ),
        ]
    )
    assert (request.text, request.detail, request.url) == (
        "Alice wants to add you as a contact.",
        "hi",
        "/contacts/",
    )
    assert (added.kind, added.text, added.url) == (
        "group.member.added",
        "Alice added you to Team.",
        f"/conversations/{group.pk}/",
    )
    # Push only: contact and group notifications are not emailed.
    assert EmailBatch.objects.count() == 0


def test_pushes_go_to_every_subscription_of_someone_offline_outside_quiet_hours(
    chat, vapid
) -> None:
    alice, bob, conversation = chat
    for n in range(2):
        PushSubscription.objects.create(
            user=bob, endpoint=f"https://push.example/{n}", p256dh="k", auth="a"
        )
    message = stored_message(conversation=conversation, sender=alice)
    services.notifications_handle(envelopes=[notify_envelope(message=message, recipient=bob)])
    assert PushDelivery.objects.count() == 2

    Preferences.objects.create(user=bob, push_enabled=False)
    message = stored_message(conversation=conversation, sender=alice)
    services.notifications_handle(envelopes=[notify_envelope(message=message, recipient=bob)])
    assert PushDelivery.objects.count() == 2


def test_quiet_hours_mean_no_push(chat, vapid) -> None:
    alice, bob, conversation = chat
    now = timezone.now()
    Preferences.objects.create(
        user=bob,
        dnd_start=(now - timezone.timedelta(hours=1)).time(),
        dnd_end=(now + timezone.timedelta(hours=1)).time(),
    )
    PushSubscription.objects.create(
        user=bob, endpoint="https://push.example/1", p256dh="k", auth="a"
    )
    message = stored_message(conversation=conversation, sender=alice)
    services.notifications_handle(
        envelopes=[notify_envelope(message=message, recipient=bob)], now=now
    )
    assert PushDelivery.objects.count() == 0
    assert Notification.objects.count() == 1


def test_marking_read(chat) -> None:
    alice, bob, conversation = chat
    for _ in range(3):
        message = stored_message(conversation=conversation, sender=alice)
        services.notifications_handle(envelopes=[notify_envelope(message=message, recipient=bob)])
    first = Notification.objects.order_by("pk").first()
    assert services.notification_mark_read(user=bob, notification_id=first.pk) is True
    assert services.notification_mark_read(user=bob, notification_id=first.pk) is False
    assert services.notification_mark_read(user=alice, notification_id=first.pk) is False
    assert services.notifications_mark_all_read(user=bob) == 2
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_muting_needs_membership(chat) -> None:
    _, bob, conversation = chat
    services.conversation_mute_set(user=bob, conversation_id=conversation.pk, muted=True)
    services.conversation_mute_set(user=bob, conversation_id=conversation.pk, muted=True)
    assert ConversationMute.objects.count() == 1
    services.conversation_mute_set(user=bob, conversation_id=conversation.pk, muted=False)
    assert ConversationMute.objects.count() == 0
    with pytest.raises(services.NotificationError):
        services.conversation_mute_set(
            user=UserFactory(), conversation_id=conversation.pk, muted=True
        )


def _notify_events(prefix: str) -> list[Envelope]:
    consumer = KafkaConsumer(
        f"{prefix}notifications",
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        return [envelope_decode(record.value) for record in consumer]
    finally:
        consumer.close()


@pytest.mark.django_db(transaction=True)
def test_messages_are_announced_to_members_not_looking_with_stable_ids(kafka_topics) -> None:
    alice = UserFactory(username="alice")
    bob = UserFactory(username="Bob")
    carol = UserFactory(username="carol")
    group = Conversation.objects.create(kind=Conversation.Kind.GROUP, title="Team")
    for person in (alice, bob, carol):
        Membership.objects.create(user=person, conversation=group)
    asyncio.run(viewing_set(user_id=carol.pk, channel_name="carol-tab", conversation_id=group.pk))
    try:
        message = stored_message(conversation=group, sender=alice, body="hi @bob")
        members = conversation_selectors.members_named(conversation_ids=[group.pk])
        for _ in range(2):
            services.message_notifications_publish(messages=[message], members=members)
    finally:
        asyncio.run(viewing_leave(user_id=carol.pk, channel_name="carol-tab"))

    events = _notify_events(kafka_topics)
    assert topic_name(Topic.NOTIFICATIONS) == f"{kafka_topics}notifications"
    # Only bob: alice wrote it, carol looks at it; twice, under one id.
    assert [e.payload.recipient_id for e in events] == [bob.pk, bob.pk]
    assert (
        events[0].id
        == events[1].id
        == services.message_notify_event_id(message_id=message.pk, recipient_id=bob.pk)
    )
    assert events[0].payload.mention is True
    assert events[0].payload.sequence == message.sequence


def _batch_of_notifications(size: int) -> list[Envelope]:
    """One message notification each for ``size`` people, each in a new conversation."""
    envelopes = []
    for _ in range(size):
        sender, recipient = UserFactory(), UserFactory()
        conversation = DirectConversationFactory(members=[sender, recipient])
        message = stored_message(conversation=conversation, sender=sender)
        envelopes.append(notify_envelope(message=message, recipient=recipient))
    return envelopes


def test_a_batch_of_notifications_costs_the_same_queries_whatever_its_size(
    django_capture_on_commit_callbacks,
) -> None:
    # Per notification, an email batch was read, created and updated and an
    # unread count read: the consumer spent more time on notifications than
    # on the messages they announce.
    small, large = _batch_of_notifications(2), _batch_of_notifications(6)
    queries = []
    for envelopes in (small, large):
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            stored = services.notifications_handle(envelopes=envelopes)
        assert len(stored) == len(envelopes)
        assert all(n.email_batch_id is not None for n in stored)
        queries.append(len(captured))

    assert queries[0] == queries[1]
    assert EmailBatch.objects.filter(message_count=1).count() == 8
