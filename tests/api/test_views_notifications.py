"""Notifications (list, unread count, mark read) and preferences."""

from collections.abc import Callable

from rest_framework.test import APIClient

from accounts.models import User
from conversations.models import Conversation
from notifications.models import Notification
from notifications.services import notifications_store
from tests.api.conftest import error_of
from tests.notifications.factories import notify_envelope


def _notify(messages: list, recipient: User) -> list[Notification]:
    return notifications_store(
        envelopes=[notify_envelope(message=m, recipient=recipient) for m in messages],
        now=messages[-1].created_at,
    )


def test_list_count_and_mark_read(
    as_alice: APIClient,
    as_bob: APIClient,
    alice: User,
    bob: User,
    direct: Conversation,
    store: Callable,
) -> None:
    _notify(store(direct, bob, "one", "two", "three"), alice)

    page = as_alice.get("/api/v1/notifications/", {"limit": 2}).json()
    rest = as_alice.get(page["next"]).json()

    assert len(page["results"]) == 2
    assert len(rest["results"]) == 1
    newest = page["results"][0]
    assert (newest["kind"], newest["actor"]["username"], newest["read"]) == (
        "message",
        "bob",
        False,
    )
    assert as_alice.get("/api/v1/notifications/unread/").json() == {"unread": 3}
    assert as_alice.post(f"/api/v1/notifications/{newest['id']}/read/").json() == {"unread": 2}
    assert as_bob.post(f"/api/v1/notifications/{newest['id']}/read/").status_code == 404
    assert as_alice.post("/api/v1/notifications/read/").json() == {"unread": 0}


def test_preferences_read_and_change(as_alice: APIClient, alice: User) -> None:
    defaults = as_alice.get("/api/v1/notifications/preferences/").json()
    assert defaults["email_enabled"] is True
    assert defaults["time_zone"] == "UTC"

    changed = as_alice.patch(
        "/api/v1/notifications/preferences/",
        {"dnd_start": "22:00", "dnd_end": "07:00", "time_zone": "Europe/Paris"},
    )

    assert changed.status_code == 200
    assert changed.json()["dnd_start"] == "22:00"
    kept = as_alice.patch("/api/v1/notifications/preferences/", {"email_enabled": False}).json()
    assert (kept["email_enabled"], kept["time_zone"], kept["dnd_end"]) == (
        False,
        "Europe/Paris",
        "07:00",
    )


def test_refused_preferences_say_why(as_alice: APIClient) -> None:
    half = as_alice.patch("/api/v1/notifications/preferences/", {"dnd_start": "22:00"})
    zone = as_alice.patch("/api/v1/notifications/preferences/", {"time_zone": "Mars/Base"})

    assert error_of(half)["message"].startswith("Give both ends")
    assert list(error_of(zone)["fields"]) == ["time_zone"]
