"""Messages: keyset history by sequence, sending through Kafka (202, idempotent per
client id), edits, deletions and reactions."""

import uuid
from collections.abc import Callable

from rest_framework.test import APIClient

from accounts.models import User
from conversations.models import Conversation, Message
from tests.api.conftest import error_of, signed_in
from tests.conftest import wait_until


def _sequences(page: dict) -> list[int]:
    return [m["sequence"] for m in page["results"]]


def test_history_pages_back_and_forth_by_sequence(
    as_alice: APIClient, bob: User, direct: Conversation, store: Callable
) -> None:
    store(direct, bob, *[f"message {n}" for n in range(1, 8)])
    path = f"/api/v1/conversations/{direct.pk}/messages/"

    latest = as_alice.get(path, {"limit": 3}).json()
    older = as_alice.get(latest["previous"]).json()
    oldest = as_alice.get(older["previous"]).json()
    newer = as_alice.get(oldest["next"]).json()

    assert _sequences(latest) == [5, 6, 7]
    assert latest["next"] is None
    assert latest["last_sequence"] == 7
    assert _sequences(older) == [2, 3, 4]
    assert _sequences(oldest) == [1]
    assert oldest["previous"] is None
    assert _sequences(newer) == [2, 3, 4]
    assert latest["results"][0]["body"] == "message 5"
    assert latest["results"][0]["sender"]["username"] == "bob"


def test_history_around_a_sequence(
    as_alice: APIClient, bob: User, direct: Conversation, store: Callable
) -> None:
    store(direct, bob, *[f"m{n}" for n in range(1, 11)])

    page = as_alice.get(
        f"/api/v1/conversations/{direct.pk}/messages/", {"around": 5, "limit": 4}
    ).json()

    assert _sequences(page) == [3, 4, 5, 6]
    assert page["previous"].endswith("?before=3&limit=4")
    assert page["next"].endswith("?after=6&limit=4")


def test_history_takes_one_position_at_most(as_alice: APIClient, direct: Conversation) -> None:
    response = as_alice.get(
        f"/api/v1/conversations/{direct.pk}/messages/", {"before": 3, "after": 1}
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"


def test_send_answers_202_and_stores_a_client_id_once(
    consumer: object, alice: User, direct: Conversation
) -> None:
    client = signed_in(alice)
    client_id = str(uuid.uuid4())
    path = f"/api/v1/conversations/{direct.pk}/messages/"

    answers = [client.post(path, {"client_id": client_id, "body": "hello **bob**"}) for _ in "12"]

    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json()["client_id"] == client_id
    assert answers[0].json()["status"] == "accepted"
    stored = wait_until(lambda: client.get(path).json()["results"])
    # A later message proves the replayed one was handled (and not stored again).
    client.post(path, {"body": "after"})
    wait_until(lambda: Message.objects.filter(conversation=direct, body="after").exists())
    assert Message.objects.filter(client_id=client_id).count() == 1
    assert stored[0]["html"].strip() == "<p>hello <strong>bob</strong></p>"


def test_send_makes_a_client_id_when_none_is_given(
    transactional_db: None, as_alice: APIClient, direct: Conversation
) -> None:
    response = as_alice.post(f"/api/v1/conversations/{direct.pk}/messages/", {"body": "hi"})

    assert response.status_code == 202
    assert uuid.UUID(response.json()["client_id"])


def test_refused_sends_say_why(
    transactional_db: None, as_alice: APIClient, as_carol: APIClient, direct: Conversation
) -> None:
    path = f"/api/v1/conversations/{direct.pk}/messages/"

    empty = as_alice.post(path, {"body": "   "})
    outsider = as_carol.post(path, {"body": "hi"})
    bad_reply = as_alice.post(path, {"body": "hi", "reply_to": 999_999})

    assert (empty.status_code, error_of(empty)["code"]) == (400, "body_empty")
    assert (outsider.status_code, error_of(outsider)["code"]) == (404, "not_found")
    assert error_of(bad_reply)["code"] == "bad_reply"


def test_edit_react_and_delete_through_kafka(
    consumer: object, alice: User, bob: User, direct: Conversation, store: Callable
) -> None:
    [message] = store(direct, alice, "first draft")
    as_alice, as_bob = signed_in(alice), signed_in(bob)
    path = f"/api/v1/messages/{message.pk}/"

    assert as_alice.patch(path, {"body": "final"}).status_code == 202
    assert as_bob.post(f"{path}reactions/", {"emoji": "👍"}).status_code == 202
    wait_until(lambda: as_bob.get(path).json()["reactions"])
    shown = as_bob.get(path).json()
    assert shown["body"] == "final"
    assert shown["edited_at"] is not None
    assert shown["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.pk]}]

    assert as_bob.patch(path, {"body": "mine now"}).status_code == 403
    assert as_alice.delete(path).status_code == 202
    wait_until(lambda: as_bob.get(path).json()["deleted"])
    assert as_bob.get(path).json()["body"] == ""


def test_a_message_you_cannot_see_is_not_found(
    transactional_db: None, as_carol: APIClient, alice: User, direct: Conversation, store: Callable
) -> None:
    [message] = store(direct, alice, "private")
    path = f"/api/v1/messages/{message.pk}/"

    answers = [
        as_carol.get(path),
        as_carol.patch(path, {"body": "x"}),
        as_carol.delete(path),
        as_carol.post(f"{path}reactions/", {"emoji": "👍"}),
        as_carol.get(f"/api/v1/messages/{message.pk + 1000}/"),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert len({str(a.json()) for a in answers}) == 1


def test_a_reaction_is_one_emoji(
    transactional_db: None, as_alice: APIClient, alice: User, direct: Conversation, store: Callable
) -> None:
    [message] = store(direct, alice, "hi")

    response = as_alice.post(f"/api/v1/messages/{message.pk}/reactions/", {"emoji": "ok"})

    assert (response.status_code, error_of(response)["code"]) == (400, "bad_emoji")
