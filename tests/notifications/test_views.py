"""The notifications page, the settings page and the push subscription endpoints."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import ConversationMute, Notification, Preferences, PushSubscription
from notifications.services import notifications_handle
from tests.factories import DirectConversationFactory, UserFactory
from tests.notifications.factories import notify_envelope, stored_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    alice = UserFactory(display_name="Alice")
    bob = UserFactory(display_name="Bob")
    conversation = DirectConversationFactory(members=[alice, bob])
    for body in ["first <b>", "second"]:
        message = stored_message(conversation=conversation, sender=alice, body=body)
        notifications_handle(envelopes=[notify_envelope(message=message, recipient=bob)])
    return alice, bob, conversation


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lists_notifications_and_the_bell_counts_unread(chat) -> None:
    _, bob, conversation = chat
    page = _client(bob).get(reverse("notifications:index"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Alice sent a message." in html
    assert "first &lt;b&gt;" in html
    assert f'href="/conversations/{conversation.pk}/#m1"' in html
    assert 'data-unread="2"' in html


def test_marking_one_and_all_read(chat) -> None:
    _, bob, _ = chat
    client = _client(bob)
    first = Notification.objects.order_by("pk").first()
    answer = client.post(
        reverse("notifications:read", args=[first.pk]), HTTP_ACCEPT="application/json"
    )
    assert answer.json() == {"unread": 1}
    assert client.post(reverse("notifications:read_all")).status_code == 302
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert 'data-unread="0"' in client.get(reverse("notifications:index")).content.decode()


def test_someone_elses_notification_stays_unread(chat) -> None:
    alice, _, _ = chat
    first = Notification.objects.order_by("pk").first()
    _client(alice).post(reverse("notifications:read", args=[first.pk]))
    first.refresh_from_db()
    assert first.read_at is None


def test_the_pages_need_a_login() -> None:
    assert Client().get(reverse("notifications:index")).status_code == 302
    assert Client().post(reverse("notifications:push_subscribe")).status_code == 302


def test_saving_preferences(chat) -> None:
    _, bob, _ = chat
    client = _client(bob)
    assert client.get(reverse("notifications:settings")).status_code == 200
    answer = client.post(
        reverse("notifications:settings"),
        {
            "email_delay_minutes": "5",
            "push_enabled": "on",
            "dnd_start": "22:00",
            "dnd_end": "07:00",
            "time_zone": "Europe/Paris",
        },
    )
    assert answer.status_code == 302
    prefs = Preferences.objects.get(user=bob)
    assert (prefs.email_enabled, prefs.email_delay_minutes, prefs.push_enabled) == (False, 5, True)
    assert (str(prefs.dnd_start), str(prefs.dnd_end), prefs.time_zone) == (
        "22:00:00",
        "07:00:00",
        "Europe/Paris",
    )


def test_half_a_quiet_period_or_an_unknown_zone_is_refused(chat) -> None:
    _, bob, _ = chat
    answer = _client(bob).post(
        reverse("notifications:settings"),
        {"dnd_start": "22:00", "time_zone": "Mars/Olympus"},
    )
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "Give both ends of the do-not-disturb hours" in html
    assert "Select a valid choice" in html
    assert not Preferences.objects.exists()


def test_muting_and_unmuting_a_conversation(chat) -> None:
    _, bob, conversation = chat
    client = _client(bob)
    client.post(reverse("notifications:mute", args=[conversation.pk]), {"muted": "1"})
    assert ConversationMute.objects.filter(user=bob, conversation=conversation).exists()
    assert "Unmute" in client.get(reverse("notifications:settings")).content.decode()
    client.post(reverse("notifications:mute", args=[conversation.pk]), {"muted": "0"})
    assert not ConversationMute.objects.exists()
    outsider = _client(UserFactory())
    outsider.post(reverse("notifications:mute", args=[conversation.pk]), {"muted": "1"})
    assert not ConversationMute.objects.exists()


def _post_json(client, name, body):
    return client.post(
        reverse(name),
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
    )


def test_subscribing_and_unsubscribing_a_browser(push_service, vapid) -> None:
    user = UserFactory()
    client = _client(user)
    data = push_service.browser().subscription_json()
    answer = _post_json(client, "notifications:push_subscribe", data)
    assert answer.status_code == 201
    assert PushSubscription.objects.get().user == user
    assert vapid[0] in client.get(reverse("notifications:settings")).content.decode()

    answer = _post_json(client, "notifications:push_unsubscribe", {"endpoint": data["endpoint"]})
    assert answer.json() == {"ok": True, "deleted": True}
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "The body must be JSON."),
        ({"endpoint": "https://push.example/x"}, "'keys' must be an object"),
        (
            {
                "endpoint": "https://push.example/x",
                "keys": {"p256dh": "AAAA", "auth": "tBHItJI5svbpez7KI4CCXg"},
            },
            "P-256",
        ),
    ],
)
def test_an_invalid_subscription_gets_a_400_with_the_reason(vapid, body, reason) -> None:
    answer = _post_json(_client(UserFactory()), "notifications:push_subscribe", body)
    assert answer.status_code == 400
    assert answer.json()["ok"] is False
    assert reason in answer.json()["error"]
    assert not PushSubscription.objects.exists()


def test_subscribing_without_vapid_keys_is_a_503(settings, push_service) -> None:
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    answer = _post_json(
        _client(UserFactory()),
        "notifications:push_subscribe",
        push_service.browser().subscription_json(),
    )
    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
