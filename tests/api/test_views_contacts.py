"""Contacts, contact requests (send, accept, decline, cancel, list) and blocks."""

from rest_framework.test import APIClient

from accounts.models import User
from contacts.models import ContactRequest
from contacts.selectors import is_contact
from tests.api.conftest import error_of
from tests.factories import make_contacts


def _send(client: APIClient, username: str, message: str = "") -> dict:
    response = client.post("/api/v1/contact-requests/", {"username": username, "message": message})
    assert response.status_code == 201, response.json()
    return response.json()


def test_send_list_and_accept_a_request(
    as_alice: APIClient, as_bob: APIClient, alice: User, bob: User
) -> None:
    sent = _send(as_alice, "bob", "Hi, it's Alice")
    assert (sent["from_user"]["username"], sent["to_user"]["username"]) == ("alice", "bob")
    assert sent["status"] == "pending"

    incoming = as_bob.get("/api/v1/contact-requests/").json()["results"]
    outgoing = as_alice.get("/api/v1/contact-requests/", {"direction": "outgoing"}).json()

    assert [r["id"] for r in incoming] == [sent["id"]]
    assert [r["id"] for r in outgoing["results"]] == [sent["id"]]
    accepted = as_bob.post(f"/api/v1/contact-requests/{sent['id']}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert is_contact(user_id=alice.pk, other_id=bob.pk)
    assert [p["username"] for p in as_alice.get("/api/v1/contacts/").json()["results"]] == ["bob"]


def test_only_the_recipient_answers_and_only_the_sender_cancels(
    as_alice: APIClient, as_bob: APIClient, as_carol: APIClient, bob: User
) -> None:
    sent = _send(as_alice, "bob")
    path = f"/api/v1/contact-requests/{sent['id']}"

    assert as_alice.post(f"{path}/accept/").status_code == 404
    assert as_carol.post(f"{path}/decline/").status_code == 404
    assert as_bob.post(f"{path}/cancel/").status_code == 404
    assert as_bob.post(f"{path}/decline/").json()["status"] == "declined"
    again = as_bob.post(f"{path}/decline/")
    assert again.status_code == 404
    assert error_of(again)["code"] == "not_found"


def test_cancel_ones_own_request(as_alice: APIClient, bob: User) -> None:
    sent = _send(as_alice, "bob")

    cancelled = as_alice.post(f"/api/v1/contact-requests/{sent['id']}/cancel/")

    assert cancelled.json()["status"] == "cancelled"
    assert ContactRequest.objects.get(pk=sent["id"]).status == "cancelled"


def test_refused_requests_say_why(as_alice: APIClient, alice: User, bob: User) -> None:
    make_contacts(alice, bob)

    already = as_alice.post("/api/v1/contact-requests/", {"username": "bob"})
    nobody = as_alice.post("/api/v1/contact-requests/", {"username": "nobody"})
    yourself = as_alice.post("/api/v1/contact-requests/", {"username": "alice"})

    assert [r.status_code for r in (already, nobody, yourself)] == [400, 400, 400]
    assert [error_of(r)["code"] for r in (already, nobody, yourself)] == [
        "already_contacts",
        "unavailable",
        "self",
    ]


def test_remove_a_contact(as_alice: APIClient, alice: User, bob: User) -> None:
    make_contacts(alice, bob)

    assert as_alice.delete("/api/v1/contacts/bob/").status_code == 204
    assert not is_contact(user_id=bob.pk, other_id=alice.pk)
    again = as_alice.delete("/api/v1/contacts/bob/")
    assert (again.status_code, error_of(again)["code"]) == (400, "not_contacts")


def test_block_list_and_unblock(
    as_alice: APIClient, as_bob: APIClient, alice: User, bob: User
) -> None:
    make_contacts(alice, bob)

    blocked = as_alice.post("/api/v1/blocks/", {"username": "bob"})

    assert blocked.status_code == 201
    assert [p["username"] for p in as_alice.get("/api/v1/blocks/").json()["results"]] == ["bob"]
    assert not is_contact(user_id=alice.pk, other_id=bob.pk)
    # Bob is told alice is unavailable, not that she blocked him.
    refused = as_bob.post("/api/v1/contact-requests/", {"username": "alice"})
    assert error_of(refused)["code"] == "unavailable"
    twice = as_alice.post("/api/v1/blocks/", {"username": "bob"})
    assert error_of(twice)["code"] == "already_blocked"

    assert as_alice.delete("/api/v1/blocks/bob/").status_code == 204
    assert as_alice.get("/api/v1/blocks/").json()["results"] == []
    assert as_alice.delete("/api/v1/blocks/bob/").status_code == 400
    assert as_alice.delete("/api/v1/blocks/nobody/").status_code == 404
