"""The management commands: generate_vapid_keys and send_notifications."""

import base64
import io
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Notification, PushDelivery
from notifications.push import push_subscription_save
from tests.conftest import child_env
from tests.factories import UserFactory


def _raw(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_generate_vapid_keys_prints_a_matching_pair() -> None:
    out = io.StringIO()
    call_command("generate_vapid_keys", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().split())
    public, private = lines["WEBPUSH_VAPID_PUBLIC_KEY"], lines["WEBPUSH_VAPID_PRIVATE_KEY"]
    key = ec.derive_private_key(int.from_bytes(_raw(private), "big"), ec.SECP256R1())
    assert (
        key.public_key().public_numbers()
        == ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), _raw(public)
        ).public_numbers()
    )


@pytest.mark.django_db(transaction=True)
def test_send_notifications_once_sends_what_is_due(push_service, vapid) -> None:
    user = UserFactory()
    browser = push_service.browser()
    subscription = push_subscription_save(user=user, data=browser.subscription_json())
    notification = Notification.objects.create(
        recipient=user,
        event_id="00000000-0000-4000-8000-000000000002",
        kind=Notification.Kind.CONTACT_ACCEPTED,
        text="Ann accepted your contact request.",
        url="/contacts/",
        created_at=timezone.now(),
    )
    PushDelivery.objects.create(
        notification=notification,
        subscription=subscription,
        endpoint=subscription.endpoint,
        next_attempt_at=timezone.now(),
    )
    # The real command in its own process, as the Procfile runs it.
    result = subprocess.run(
        [sys.executable, "manage.py", "send_notifications", "--once"],
        cwd=settings.BASE_DIR,
        env=child_env(
            settings.KAFKA_TOPIC_PREFIX,
            WEBPUSH_VAPID_PUBLIC_KEY=vapid[0],
            WEBPUSH_VAPID_PRIVATE_KEY=vapid[1],
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "sent 1 pushes, 0 emails" in result.stdout
    assert browser.decrypt(push_service.received[0].body)["title"] == (
        "Ann accepted your contact request."
    )
    assert PushDelivery.objects.get().status == "sent"


@pytest.mark.django_db(transaction=True)
def test_the_running_sender_is_woken_by_a_new_push_and_stops_on_sigterm(
    push_service, vapid
) -> None:
    import signal
    import time

    from notifications.services import notifications_handle
    from tests.conftest import wait_until
    from tests.factories import DirectConversationFactory
    from tests.notifications.factories import notify_envelope, stored_message

    alice, bob = UserFactory(), UserFactory()
    conversation = DirectConversationFactory(members=[alice, bob])
    browser = push_service.browser()
    push_subscription_save(user=bob, data=browser.subscription_json())
    process = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "send_notifications"],
        cwd=settings.BASE_DIR,
        env=child_env(
            settings.KAFKA_TOPIC_PREFIX,
            WEBPUSH_VAPID_PUBLIC_KEY=vapid[0],
            WEBPUSH_VAPID_PRIVATE_KEY=vapid[1],
            # Far longer than the test: only the wake-up can explain a quick push.
            NOTIFICATION_SEND_INTERVAL_SECONDS="300",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("sending due notification emails")
        # A wake-up sent before the sender waits stays queued in Redis: no race.
        message = stored_message(conversation=conversation, sender=alice, body="wake up")
        started = time.monotonic()
        notifications_handle(envelopes=[notify_envelope(message=message, recipient=bob)])
        wait_until(lambda: push_service.received, timeout=20)
        elapsed = time.monotonic() - started
        print(f"\nnotification stored → push received by the push service: {elapsed * 1000:.0f} ms")
        assert browser.decrypt(push_service.received[0].body)["body"] == "wake up"
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - stopped < 10
    finally:
        if process.poll() is None:
            process.kill()
