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
