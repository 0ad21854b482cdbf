"""Notifications through the real pipeline: Kafka, the consumer runner, PostgreSQL, Redis.

A message travels message.sent → ``messages`` handler → message.notify →
``notifications`` handler → stored notification → live frame, email batch,
push delivery.
"""

import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.core import mail
from django.utils import timezone

from contacts import services as contact_services
from conversations.models import Message
from messenger.kafka.events import Envelope, MessageNotify
from messenger.kafka.producer import publish_sync
from messenger.kafka.topics import Topic
from notifications.emails import email_batches_send
from notifications.models import ConversationMute, EmailBatch, Notification, PushDelivery
from notifications.push import push_deliveries_send, push_subscription_save
from tests.conftest import receive_until, socket_connect, wait_until
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope

pytestmark = pytest.mark.django_db(transaction=True)

BOTH = [Topic.MESSAGES, Topic.NOTIFICATIONS]


async def test_a_contact_request_and_its_acceptance_show_up_live(
    kafka_topics, start_consumer
) -> None:
    start_consumer(topics=[Topic.NOTIFICATIONS])
    ann = await database_sync_to_async(UserFactory)(display_name="Ann <i>")
    ben = await database_sync_to_async(UserFactory)(display_name="Ben")
    ann_socket, _, _ = await socket_connect(ann)
    ben_socket, _, _ = await socket_connect(ben)

    request = await database_sync_to_async(contact_services.contact_request_send)(
        sender=ann, recipient=ben, message="coffee?"
    )
    received = (await receive_until(ben_socket, "notification"))["notification"]
    assert received["kind"] == "contact.request.received"
    assert received["text"] == "Ann <i> wants to add you as a contact."
    assert received["detail"] == "coffee?"
    assert received["url"] == "/contacts/"
    assert received["unread"] == 1

    await database_sync_to_async(contact_services.contact_request_accept)(
        user=ben, request_id=request.pk
    )
    accepted = (await receive_until(ann_socket, "notification"))["notification"]
    assert (accepted["kind"], accepted["text"]) == (
        "contact.request.accepted",
        "Ben accepted your contact request.",
    )
    await ann_socket.disconnect()
    await ben_socket.disconnect()


def _people_and_conversation():
    alice = UserFactory(username="alice", display_name="Alice")
    bob = UserFactory(username="bob", display_name="Bob")
    conversation = DirectConversationFactory(members=[alice, bob])
    return alice, bob, conversation


def test_an_offline_member_gets_one_email_per_burst_and_a_push(
    start_consumer, push_service, vapid
) -> None:
    start_consumer(topics=BOTH)
    alice, bob, conversation = _people_and_conversation()
    browser = push_service.browser()
    push_subscription_save(user=bob, data=browser.subscription_json())

    for body in ["Are you there?", "Lunch at noon", "@bob see above"]:
        publish_sync(message_sent_envelope(conversation=conversation, sender=alice, body=body))
    notifications = wait_until(
        lambda: (
            list(Notification.objects.filter(recipient=bob).order_by("sequence"))
            if Notification.objects.filter(recipient=bob).count() == 3
            else None
        )
    )
    assert [n.kind for n in notifications] == ["message", "message", "mention"]
    assert not Notification.objects.filter(recipient=alice).exists()

    # Push: sent at once, one per notification, decrypted by the browser's keys.
    assert push_deliveries_send(now=timezone.now()) == 3
    assert len(push_service.received) == 3
    payloads = [browser.decrypt(r.body) for r in push_service.received]
    assert payloads[0] == {
        "id": str(notifications[0].event_id),
        "kind": "message",
        "title": "Alice sent a message.",
        "body": "Are you there?",
        "url": f"/conversations/{conversation.pk}/#m1",
    }
    assert payloads[2]["title"] == "Alice mentioned you."
    assert push_service.received[0].headers["content-encoding"] == "aes128gcm"
    assert f"k={vapid[0]}" in push_service.received[0].headers["authorization"]
    assert set(PushDelivery.objects.values_list("status", flat=True)) == {"sent"}

    # Email: nothing before the delay, then one email for the whole burst.
    delay = timedelta(minutes=settings.NOTIFICATION_EMAIL_DELAY_MINUTES)
    first = notifications[0].created_at
    assert email_batches_send(now=first + delay - timedelta(seconds=1)) == 0
    assert mail.outbox == []
    assert email_batches_send(now=first + delay + timedelta(seconds=1)) == 1
    assert email_batches_send(now=first + delay + timedelta(minutes=5)) == 0
    [email] = mail.outbox
    assert email.to == [bob.email]
    assert email.subject == "3 unread messages in Alice"
    assert "Lunch at noon" in email.body
    assert f"/conversations/{conversation.pk}/" in email.body
    assert "/notifications/settings/" in email.body
    html, mime = email.alternatives[0]
    assert mime == "text/html"
    assert "Lunch at noon" in html
    assert EmailBatch.objects.get().message_count == 3


async def test_an_online_member_sees_the_bell_update_live(start_consumer) -> None:
    start_consumer(topics=BOTH)
    alice, bob, conversation = await database_sync_to_async(_people_and_conversation)()
    bob_socket, _, _ = await socket_connect(bob)

    await database_sync_to_async(publish_sync)(
        message_sent_envelope(conversation=conversation, sender=alice, body="ping")
    )
    first = (await receive_until(bob_socket, "notification"))["notification"]
    await database_sync_to_async(publish_sync)(
        message_sent_envelope(conversation=conversation, sender=alice, body="pong")
    )
    second = (await receive_until(bob_socket, "notification"))["notification"]

    assert (first["unread"], second["unread"]) == (1, 2)
    assert second["text"] == "Alice sent a message."
    assert second["detail"] == "pong"
    assert second["silent"] is False
    # An open tab shows it: no email, no push for someone online.
    assert await database_sync_to_async(EmailBatch.objects.count)() == 0
    assert await database_sync_to_async(PushDelivery.objects.count)() == 0
    await bob_socket.disconnect()


async def test_a_member_looking_at_the_conversation_is_not_notified(start_consumer) -> None:
    consumer = start_consumer(topics=BOTH)
    alice, bob, conversation = await database_sync_to_async(_people_and_conversation)()
    bob_socket, _, _ = await socket_connect(bob)
    await bob_socket.send_json_to({"type": "focus", "conversation": conversation.pk})
    assert await receive_until(bob_socket, "focus.done") == {
        "type": "focus.done",
        "conversation": conversation.pk,
    }

    await database_sync_to_async(publish_sync)(
        message_sent_envelope(conversation=conversation, sender=alice, body="seen live")
    )
    await receive_until(bob_socket, "message.new")
    # The push comes before the batch's announcements: wait for the whole batch.
    await database_sync_to_async(wait_until)(
        lambda: consumer.runner.stats.processed.get("messages", 0) >= 1
    )
    # The tab is hidden now: the next message notifies.
    await bob_socket.send_json_to({"type": "focus", "conversation": None})
    await receive_until(bob_socket, "focus.done")
    await database_sync_to_async(publish_sync)(
        message_sent_envelope(conversation=conversation, sender=alice, body="while away")
    )
    frame = (await receive_until(bob_socket, "notification"))["notification"]

    assert frame["detail"] == "while away"
    notifications = await database_sync_to_async(list)(
        Notification.objects.filter(recipient=bob).values_list("sequence", flat=True)
    )
    assert notifications == [2]
    await bob_socket.disconnect()


async def test_replaying_the_same_events_notifies_once(start_consumer) -> None:
    start_consumer(topics=BOTH)
    alice, bob, conversation = await database_sync_to_async(_people_and_conversation)()
    bob_socket, _, _ = await socket_connect(bob)

    sent = message_sent_envelope(conversation=conversation, sender=alice, body="once")
    await database_sync_to_async(publish_sync)(sent)
    first = (await receive_until(bob_socket, "notification"))["notification"]
    # The same message.sent again (stored once, announced again under the same
    # event id), and the same message.notify event twice more.
    await database_sync_to_async(publish_sync)(sent)
    message = await database_sync_to_async(Message.objects.get)()
    notify = Envelope(
        payload=MessageNotify(
            recipient_id=bob.pk,
            conversation_id=conversation.pk,
            message_id=message.pk,
            sequence=message.sequence,
            sender_id=alice.pk,
        ),
        id=uuid.UUID(first["id"]),
    )
    await database_sync_to_async(publish_sync)(notify)
    await database_sync_to_async(publish_sync)(notify)
    # A different event after them on bob's partition: once it arrives, the
    # replays before it have been handled.
    await database_sync_to_async(publish_sync)(
        message_sent_envelope(conversation=conversation, sender=alice, body="barrier")
    )
    after = (await receive_until(bob_socket, "notification"))["notification"]

    assert after["detail"] == "barrier"
    assert after["unread"] == 2
    assert await database_sync_to_async(Message.objects.count)() == 2
    assert await database_sync_to_async(Notification.objects.filter(recipient=bob).count)() == 2
    await bob_socket.disconnect()


def test_a_muted_conversation_notifies_mentions_only(start_consumer) -> None:
    start_consumer(topics=BOTH)
    alice, bob, conversation = _people_and_conversation()
    ConversationMute.objects.create(user=bob, conversation=conversation)

    publish_sync(message_sent_envelope(conversation=conversation, sender=alice, body="chatter"))
    publish_sync(message_sent_envelope(conversation=conversation, sender=alice, body="hey @Bob"))

    mention = wait_until(lambda: Notification.objects.filter(recipient=bob).first())
    assert mention.kind == "mention"
    assert mention.sequence == 2
    assert Notification.objects.filter(recipient=bob).count() == 1


async def test_the_time_from_send_to_the_bell_is_measured(start_consumer) -> None:
    """Print the latency of message → stored → announced → stored notification → frame."""
    import statistics
    import time

    start_consumer(topics=BOTH)
    alice, bob, conversation = await database_sync_to_async(_people_and_conversation)()
    bob_socket, _, _ = await socket_connect(bob)
    latencies = []
    for n in range(40):
        started = time.perf_counter()
        await database_sync_to_async(publish_sync)(
            message_sent_envelope(conversation=conversation, sender=alice, body=f"m{n}")
        )
        frame = (await receive_until(bob_socket, "notification"))["notification"]
        latencies.append((time.perf_counter() - started) * 1000)
        assert frame["detail"] == f"m{n}"
    ordered = sorted(latencies)
    print(
        f"\nmessage.sent → notification frame, 40 messages one at a time: "
        f"p50 {statistics.median(ordered):.0f} ms, p95 {ordered[37]:.0f} ms, max {ordered[-1]:.0f} ms"
    )
    assert frame["unread"] == 40
    await bob_socket.disconnect()
