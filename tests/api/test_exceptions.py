"""One error format for every refusal: validation, rules, 404s, auth, CSRF, throttling."""

from collections.abc import Callable
from typing import Any

from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from accounts.models import User
from api.exceptions import field_errors
from conversations.models import Conversation
from tests.api.conftest import error_of


def test_validation_errors_name_their_fields(as_alice: APIClient) -> None:
    response = as_alice.post("/api/v1/conversations/groups/", {"title": "", "members": []})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"title", "members"}


def test_nested_field_errors_are_dotted() -> None:
    assert field_errors({"members": {2: ["bad"]}, "title": ["empty"]}) == {
        "members.2": ["bad"],
        "title": ["empty"],
    }
    assert field_errors(["whole request"]) == {"non_field_errors": ["whole request"]}


def test_a_domain_rule_refusal_keeps_its_code_and_message(as_alice: APIClient, bob: User) -> None:
    # Not contacts: the conversations service refuses.
    response = as_alice.post("/api/v1/conversations/direct/", {"username": "bob"})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "not_contact"
    assert "contacts" in error["message"]


def test_unknown_api_addresses_get_the_api_404(as_alice: APIClient) -> None:
    for method in ("get", "post", "delete"):
        response = getattr(as_alice, method)("/api/v1/no-such-thing/")
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_without_credentials_the_answer_is_401_with_a_challenge(db: None) -> None:
    response = APIClient().get("/api/v1/me/")

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_write_without_its_csrf_token_is_refused(alice: User) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.patch("/api/v1/me/", {"status_text": "hi"})

    assert response.status_code == 403
    assert error_of(response)["code"] == "csrf_failed"


def test_a_person_is_throttled_with_retry_after(
    as_alice: APIClient, settings: SettingsWrapper
) -> None:
    settings.API_THROTTLE_USER_RATE = "3/minute"
    answers = [as_alice.get("/api/v1/me/") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert error_of(answers[-1])["code"] == "throttled"
    assert int(answers[-1].headers["Retry-After"]) > 0


def test_anonymous_addresses_are_throttled_apart(db: None, settings: SettingsWrapper) -> None:
    settings.API_THROTTLE_ANON_RATE = "2/minute"
    first = APIClient(REMOTE_ADDR="192.0.2.10")
    other = APIClient(REMOTE_ADDR="192.0.2.11")

    # What anonymous callers can reach (the schema, the docs, and here an
    # unknown address); elsewhere they get their 401 before any throttle.
    codes = [first.get("/api/v1/nothing/").status_code for _ in range(3)]

    assert codes == [404, 404, 429]
    assert other.get("/api/v1/nothing/").status_code == 404
    # A made-up X-Forwarded-For does not make a new address.
    spoofed = first.get("/api/v1/nothing/", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert spoofed.status_code == 429


def _conversation_404s(client: APIClient, conversation_id: int) -> list[dict[str, Any]]:
    calls = [
        client.get(f"/api/v1/conversations/{conversation_id}/"),
        client.get(f"/api/v1/conversations/{conversation_id}/messages/"),
        client.post(f"/api/v1/conversations/{conversation_id}/messages/", {"body": "hi"}),
        client.post(f"/api/v1/conversations/{conversation_id}/read/", {"sequence": 1}),
        client.put(f"/api/v1/conversations/{conversation_id}/mute/", {"muted": True}),
        client.post(f"/api/v1/conversations/{conversation_id}/leave/"),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls)
    return [c.json() for c in calls]


def test_a_conversation_you_cannot_see_looks_like_one_that_does_not_exist(
    transactional_db: None, as_carol: APIClient, direct: Conversation
) -> None:
    # transactional_db: the send and read services run through
    # database_sync_to_async, which closes a connection inside a test transaction.
    hidden = _conversation_404s(as_carol, direct.pk)
    missing = _conversation_404s(as_carol, direct.pk + 10_000)

    assert hidden == missing
    assert hidden[0] == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


HUGE = "9" * 30


def test_huge_numbers_are_refused_or_find_nothing(
    transactional_db: None, as_alice: APIClient, bob: User, direct: Conversation, store: Callable
) -> None:
    store(direct, bob, "hello")
    c = f"/api/v1/conversations/{direct.pk}"
    answers = {
        "before": as_alice.get(f"{c}/messages/", {"before": HUGE}),
        "after": as_alice.get(f"{c}/messages/", {"after": HUGE}),
        "around": as_alice.get(f"{c}/messages/", {"around": HUGE}),
        "conversation": as_alice.get(f"/api/v1/conversations/{HUGE}/"),
        "message": as_alice.get(f"/api/v1/messages/{HUGE}/"),
        "reply": as_alice.post(f"{c}/messages/", {"body": "x", "reply_to": int(HUGE)}),
        "read": as_alice.post(f"{c}/read/", {"sequence": int(HUGE)}),
        "request": as_alice.post(f"/api/v1/contact-requests/{HUGE}/accept/"),
        "notification": as_alice.post(f"/api/v1/notifications/{HUGE}/read/"),
        "search": as_alice.get("/api/v1/search/messages/", {"q": "x", "conversation": HUGE}),
        "search_before": as_alice.get("/api/v1/search/messages/", {"q": "x", "before": HUGE}),
        "send": as_alice.post(f"/api/v1/conversations/{HUGE}/messages/", {"body": "x"}),
        "upload": as_alice.post(
            f"/api/v1/conversations/{HUGE}/attachments/", {}, format="multipart"
        ),
    }
    statuses = {name: a.status_code for name, a in answers.items()}

    # Past a bigint: a field error for body and query numbers, a 404 for ids in paths.
    assert statuses == {
        "before": 400,
        "after": 400,
        "around": 400,
        "conversation": 404,
        "message": 404,
        "reply": 400,
        "read": 400,
        "request": 404,
        "notification": 404,
        "search": 400,
        "search_before": 400,
        "send": 404,
        "upload": 400,
    }
