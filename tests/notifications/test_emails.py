"""One email per conversation burst, after the delay, for people who stay away."""

import asyncio
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.presence import presence_leave, presence_touch
from notifications.emails import email_batches_send
from notifications.models import EmailBatch, Notification, Preferences
from notifications.services import notifications_handle
from tests.conftest import free_port
from tests.factories import DirectConversationFactory, UserFactory
from tests.notifications.factories import notify_envelope, stored_message

pytestmark = pytest.mark.django_db

DELAY = timedelta(minutes=10)


@pytest.fixture
def chat(settings):
    settings.NOTIFICATION_EMAIL_DELAY_MINUTES = 10
    alice = UserFactory(display_name="Alice")
    bob = UserFactory(display_name="Bob")
    return alice, bob, DirectConversationFactory(members=[alice, bob])


def _burst(chat, bodies, *, start):
    alice, bob, conversation = chat
    for i, body in enumerate(bodies):
        at = start + timedelta(seconds=i)
        message = stored_message(conversation=conversation, sender=alice, body=body, at=at)
        notifications_handle(envelopes=[notify_envelope(message=message, recipient=bob)], now=at)


def test_a_burst_becomes_one_email_after_the_delay_and_the_next_burst_another(chat) -> None:
    start = timezone.now()
    _burst(chat, ["one", "two", "three"], start=start)
    assert EmailBatch.objects.count() == 1

    assert email_batches_send(now=start + DELAY - timedelta(seconds=1)) == 0
    assert email_batches_send(now=start + DELAY) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "3 unread messages in Alice"

    later = start + DELAY + timedelta(minutes=1)
    _burst(chat, ["four"], start=later)
    assert email_batches_send(now=later + DELAY) == 1
    assert mail.outbox[1].subject == "1 unread message in Alice"
    assert "four" in mail.outbox[1].body
    assert "three" not in mail.outbox[1].body


def test_no_email_when_the_messages_were_read_before_it_was_due(chat) -> None:
    start = timezone.now()
    _burst(chat, ["one", "two"], start=start)
    Notification.objects.update(read_at=start + timedelta(minutes=1))

    assert email_batches_send(now=start + DELAY) == 0
    assert mail.outbox == []
    batch = EmailBatch.objects.get()
    assert (batch.status, batch.last_error) == ("skipped", "already read")


def test_no_email_for_someone_who_came_back_online(chat) -> None:
    _, bob, _ = chat
    start = timezone.now()
    _burst(chat, ["one"], start=start)
    asyncio.run(presence_touch(user_id=bob.pk, channel_name="tab-1"))
    try:
        assert email_batches_send(now=start + DELAY) == 0
    finally:
        asyncio.run(presence_leave(user_id=bob.pk, channel_name="tab-1"))
    assert EmailBatch.objects.get().last_error == "came online"


def test_no_email_batch_for_someone_online_or_with_email_off(chat) -> None:
    _, bob, _ = chat
    Preferences.objects.create(user=bob, email_enabled=False)
    _burst(chat, ["one"], start=timezone.now())
    assert EmailBatch.objects.count() == 0
    assert Notification.objects.count() == 1


def test_the_delay_is_the_users_own_when_set(chat) -> None:
    _, bob, _ = chat
    Preferences.objects.create(user=bob, email_delay_minutes=2)
    start = timezone.now()
    _burst(chat, ["one"], start=start)
    assert EmailBatch.objects.get().next_attempt_at == start + timedelta(minutes=2)


def test_an_smtp_failure_is_retried_with_backoff_then_recorded(chat, settings) -> None:
    # A real SMTP client against a port where nothing listens.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 2
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    start = timezone.now()
    _burst(chat, ["one"], start=start)

    due = start + DELAY
    assert email_batches_send(now=due) == 0
    batch = EmailBatch.objects.get()
    assert (batch.status, batch.attempts) == ("sending", 1)
    assert "ConnectionRefusedError" in batch.last_error
    assert batch.next_attempt_at == due + timedelta(seconds=60)

    email_batches_send(now=due + timedelta(seconds=60))
    batch.refresh_from_db()
    assert batch.next_attempt_at == due + timedelta(seconds=60 + 120)
    email_batches_send(now=due + timedelta(seconds=180))
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == ("failed", 3)
    # The in-app notification is not lost.
    assert Notification.objects.filter(read_at__isnull=True).count() == 1

    # Messages after a failed email start a new batch that can succeed.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = due + timedelta(minutes=5)
    _burst(chat, ["two"], start=later)
    assert email_batches_send(now=later + DELAY) == 1


def test_do_not_disturb_holds_the_email_until_it_ends(chat) -> None:
    _, bob, _ = chat
    start = timezone.now().replace(hour=23, minute=0, second=0, microsecond=0)
    Preferences.objects.create(
        user=bob,
        dnd_start=(start - timedelta(hours=1)).time(),
        dnd_end=(start + timedelta(hours=8)).time(),
        time_zone="UTC",
    )
    _burst(chat, ["night owl"], start=start)
    batch = EmailBatch.objects.get()
    assert batch.next_attempt_at == start + timedelta(hours=8)
    assert email_batches_send(now=start + DELAY) == 0
    assert email_batches_send(now=start + timedelta(hours=8)) == 1
