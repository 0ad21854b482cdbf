"""Conversations: list with unread counts, direct and group creation, detail, rename,
members, leave, read receipts and mutes."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from conversations.models import Conversation, Membership
from messenger.kafka.topics import Topic
from notifications.selectors import muted_conversation_ids
from tests.api.conftest import error_of, signed_in
from tests.conftest import wait_until
from tests.factories import make_contacts


def test_list_with_unread_counts_most_recent_first(
    as_alice: APIClient, alice: User, bob: User, carol: User, direct: Conversation, store: Callable
) -> None:
    make_contacts(alice, carol)
    group = as_alice.post(
        "/api/v1/conversations/groups/", {"title": "Team", "members": ["bob", "carol"]}
    ).json()
    store(direct, bob, "one", "two", "three")

    listed = as_alice.get("/api/v1/conversations/").json()["results"]

    assert [c["id"] for c in listed] == [direct.pk, group["id"]]
    first = listed[0]
    assert (first["kind"], first["name"], first["unread"], first["muted"]) == (
        "direct",
        "Bob",
        3,
        False,
    )
    assert {m["person"]["username"] for m in first["members"]} == {"alice", "bob"}


def test_the_list_pages_by_cursor(as_alice: APIClient, alice: User, bob: User) -> None:
    make_contacts(alice, bob)
    for n in range(3):
        as_alice.post("/api/v1/conversations/groups/", {"title": f"G{n}", "members": ["bob"]})

    first = as_alice.get("/api/v1/conversations/", {"limit": 2}).json()
    second = as_alice.get(first["next"]).json()

    assert [c["title"] for c in first["results"] + second["results"]] == ["G2", "G1", "G0"]
    assert second["next"] is None


def test_open_a_direct_conversation_once(
    as_alice: APIClient, as_bob: APIClient, alice: User, bob: User
) -> None:
    make_contacts(alice, bob)

    first = as_alice.post("/api/v1/conversations/direct/", {"username": "bob"})
    second = as_bob.post("/api/v1/conversations/direct/", {"username": "alice"})

    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["name"] == "Bob"
    assert second.json()["name"] == "Alice"
    assert as_alice.post("/api/v1/conversations/direct/", {"username": "nobody"}).status_code == 404


def test_a_group_needs_real_contacts(as_alice: APIClient, bob: User, carol: User) -> None:
    nobody = as_alice.post(
        "/api/v1/conversations/groups/", {"title": "T", "members": ["bob", "ghost"]}
    )
    stranger = as_alice.post("/api/v1/conversations/groups/", {"title": "T", "members": ["bob"]})

    assert nobody.status_code == 400
    assert list(error_of(nobody)["fields"]) == ["members.1"]
    assert error_of(stranger)["code"] == "not_contact"


@pytest.fixture
def group(as_alice: APIClient, alice: User, bob: User, carol: User) -> dict:
    make_contacts(alice, bob)
    make_contacts(alice, carol)
    response = as_alice.post("/api/v1/conversations/groups/", {"title": "Team", "members": ["bob"]})
    assert response.status_code == 201
    return response.json()


def test_admins_rename_add_and_remove(
    as_alice: APIClient, as_bob: APIClient, group: dict, carol: User
) -> None:
    path = f"/api/v1/conversations/{group['id']}"

    renamed = as_alice.patch(f"{path}/", {"title": "Crew"})
    added = as_alice.post(f"{path}/members/", {"username": "carol"})

    assert renamed.json()["title"] == "Crew"
    assert added.status_code == 201
    assert (added.json()["person"]["username"], added.json()["role"]) == ("carol", "member")
    assert error_of(as_bob.patch(f"{path}/", {"title": "Mine"}))["code"] == "not_admin"
    assert as_bob.patch(f"{path}/", {"title": "Mine"}).status_code == 403
    assert as_alice.delete(f"{path}/members/carol/").status_code == 204
    assert not Membership.objects.filter(conversation_id=group["id"], user=carol).exists()
    assert signed_in(carol).get(f"{path}/").status_code == 404


def test_leaving_hands_the_group_on(as_alice: APIClient, as_bob: APIClient, group: dict) -> None:
    path = f"/api/v1/conversations/{group['id']}"

    assert as_alice.post(f"{path}/leave/").status_code == 204

    assert as_alice.get(f"{path}/").status_code == 404
    members = as_bob.get(f"{path}/").json()["members"]
    assert [(m["person"]["username"], m["role"]) for m in members] == [("bob", "admin")]


def test_mute_and_unmute(as_alice: APIClient, alice: User, direct: Conversation) -> None:
    path = f"/api/v1/conversations/{direct.pk}"

    assert as_alice.put(f"{path}/mute/", {"muted": True}).json() == {"muted": True}
    assert as_alice.get(f"{path}/").json()["muted"] is True
    assert muted_conversation_ids(user_id=alice.pk) == {direct.pk}
    as_alice.put(f"{path}/mute/", {"muted": False})
    assert muted_conversation_ids(user_id=alice.pk) == set()


def test_a_read_receipt_goes_through_kafka(
    start_consumer: Callable, alice: User, bob: User, direct: Conversation, store: Callable
) -> None:
    start_consumer([Topic.ACTIVITY])
    store(direct, bob, "one", "two")
    client = signed_in(alice)

    response = client.post(f"/api/v1/conversations/{direct.pk}/read/", {"sequence": 2})

    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    wait_until(lambda: client.get(f"/api/v1/conversations/{direct.pk}/").json()["unread"] == 0)
