"""Web push against a local push service that decrypts what it receives."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification, PushDelivery, PushSubscription
from notifications.push import (
    push_deliveries_send,
    push_subscription_delete,
    push_subscription_save,
    push_subscription_validate,
)
from notifications.services import NotificationError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _delivery(user, subscription, *, now) -> PushDelivery:
    notification = Notification.objects.create(
        recipient=user,
        event_id="00000000-0000-4000-8000-000000000001",
        kind=Notification.Kind.CONTACT_REQUEST,
        text="Ann wants to add you as a contact.",
        detail="coffee?",
        url="/contacts/",
        created_at=now,
    )
    return PushDelivery.objects.create(
        notification=notification,
        subscription=subscription,
        endpoint=subscription.endpoint,
        next_attempt_at=now,
    )


def test_a_push_arrives_encrypted_for_the_subscription_and_signed_with_vapid(
    push_service, vapid
) -> None:
    user = UserFactory()
    browser = push_service.browser()
    subscription = push_subscription_save(user=user, data=browser.subscription_json())
    now = timezone.now()
    delivery = _delivery(user, subscription, now=now)

    assert push_deliveries_send(now=now) == 1

    [received] = push_service.received
    assert received.path == browser.endpoint.split(str(push_service.server.server_port))[1]
    assert browser.decrypt(received.body) == {
        "id": "00000000-0000-4000-8000-000000000001",
        "kind": "contact.request.received",
        "title": "Ann wants to add you as a contact.",
        "body": "coffee?",
        "url": "/contacts/",
    }
    assert received.headers["ttl"] == str(24 * 3600)
    assert received.headers["authorization"].startswith("vapid t=")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    subscription.refresh_from_db()
    assert subscription.last_success_at == now


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_reports_gone_is_removed(
    push_service, vapid, status
) -> None:
    user = UserFactory()
    subscription = push_subscription_save(
        user=user, data=push_service.browser().subscription_json()
    )
    push_service.status = status
    now = timezone.now()
    delivery = _delivery(user, subscription, now=now)

    assert push_deliveries_send(now=now) == 0

    delivery.refresh_from_db()
    assert delivery.status == "gone"
    assert delivery.last_error == f"push service answered {status}"
    assert not PushSubscription.objects.exists()


def test_a_failing_push_is_retried_with_backoff_then_recorded(
    push_service, vapid, settings
) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 30
    user = UserFactory()
    subscription = push_subscription_save(
        user=user, data=push_service.browser().subscription_json()
    )
    push_service.status = 500
    now = timezone.now()
    delivery = _delivery(user, subscription, now=now)

    assert push_deliveries_send(now=now) == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sending", 1)
    assert delivery.next_attempt_at == now + timedelta(seconds=30)
    # Not due before its backoff ends.
    assert push_deliveries_send(now=now + timedelta(seconds=29)) == 0
    assert len(push_service.received) == 1

    push_deliveries_send(now=now + timedelta(seconds=30))
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + timedelta(seconds=30 + 60)
    push_deliveries_send(now=now + timedelta(seconds=90))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "push service answered 500"
    assert len(push_service.received) == 3
    # The notification itself stays, and so does the subscription.
    assert Notification.objects.count() == 1
    assert PushSubscription.objects.count() == 1


def test_an_unreachable_push_service_is_a_retry_not_a_crash(vapid) -> None:
    from tests.conftest import free_port

    user = UserFactory()
    subscription = PushSubscription.objects.create(
        user=user,
        endpoint=f"http://127.0.0.1:{free_port()}/nobody-listens",
        p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        auth="tBHItJI5svbpez7KI4CCXg",
    )
    now = timezone.now()
    delivery = _delivery(user, subscription, now=now)

    assert push_deliveries_send(now=now) == 0
    delivery.refresh_from_db()
    assert delivery.status == "sending"
    assert "ConnectionError" in delivery.last_error


def test_a_valid_subscription_is_stored_once_per_endpoint(push_service, vapid) -> None:
    first, second = UserFactory(), UserFactory()
    data = push_service.browser().subscription_json()
    push_subscription_save(user=first, data=data)
    # The same browser, now logged in as someone else: the subscription moves.
    push_subscription_save(user=second, data=data)
    assert list(PushSubscription.objects.values_list("user_id", flat=True)) == [second.pk]

    assert push_subscription_delete(user=first, endpoint=data["endpoint"]) is False
    assert push_subscription_delete(user=second, endpoint=data["endpoint"]) is True
    assert not PushSubscription.objects.exists()


GOOD_KEY = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
GOOD_AUTH = "tBHItJI5svbpez7KI4CCXg"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "The body must be a JSON object."),
        ({"keys": {}}, "'endpoint' must be a URL string."),
        ({"endpoint": "ftp://push.example/x", "keys": {}}, "'endpoint' must be an https URL"),
        ({"endpoint": "https://push.example/x"}, "'keys' must be an object"),
        (
            {"endpoint": "https://push.example/x", "keys": {"p256dh": 1, "auth": GOOD_AUTH}},
            "must be strings",
        ),
        (
            {"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": GOOD_AUTH}},
            "uncompressed P-256 public key",
        ),
        (
            {"endpoint": "https://push.example/x", "keys": {"p256dh": "B" * 87, "auth": GOOD_AUTH}},
            "uncompressed P-256 public key",
        ),
        (
            {"endpoint": "https://push.example/x", "keys": {"p256dh": GOOD_KEY, "auth": "AAAA"}},
            "'keys.auth' must be 16 bytes",
        ),
        (
            {"endpoint": "https://push.example/x", "keys": {"p256dh": GOOD_KEY, "auth": "!!"}},
            "base64url",
        ),
        ({"endpoint": "https://x/" + "a" * 2000, "keys": {}}, "longer than 2000"),
    ],
)
def test_an_invalid_subscription_is_refused_with_the_reason(data, reason) -> None:
    with pytest.raises(NotificationError) as refused:
        push_subscription_validate(data)
    assert reason in refused.value.message


def test_production_refuses_plain_http_and_private_addresses(settings) -> None:
    settings.WEBPUSH_ALLOW_HTTP = False
    keys = {"p256dh": GOOD_KEY, "auth": GOOD_AUTH}
    for endpoint in ["http://push.example/x", "https://127.0.0.1/x", "https://10.0.0.8/x"]:
        with pytest.raises(NotificationError):
            push_subscription_validate({"endpoint": endpoint, "keys": keys})
    assert push_subscription_validate({"endpoint": "https://push.example/x", "keys": keys})[0] == (
        "https://push.example/x"
    )


def test_without_vapid_keys_push_is_off(settings, push_service) -> None:
    settings.WEBPUSH_VAPID_PUBLIC_KEY = ""
    with pytest.raises(NotificationError) as refused:
        push_subscription_save(user=UserFactory(), data=push_service.browser().subscription_json())
    assert refused.value.code == "unavailable"
    assert json.dumps(refused.value.message)
