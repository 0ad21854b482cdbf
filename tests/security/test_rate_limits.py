"""Rate limits on what a script would flood: sign-ups, logins, messages and
contact requests, over every way in (pages, the REST API, the socket).

Failed logins and password resets are pinned in tests/accounts/test_account_safety.py.
Counters live in Redis and outlive a test: each test uses addresses and
people of its own.
"""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.conftest import socket_connect
from tests.factories import PASSWORD, DirectConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


def fresh_ip() -> str:
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


def test_sign_ups_from_one_address_are_limited(settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/m/ip"}
    ip = fresh_ip()
    answers = []
    for n in range(3):
        name = f"new{uuid.uuid4().hex[:8]}{n}"
        answers.append(
            Client()
            .post(
                "/accounts/signup/",
                {
                    "email": f"{name}@example.com",
                    "username": name,
                    "password1": PASSWORD,
                    "password2": PASSWORD,
                },
                REMOTE_ADDR=ip,
            )
            .status_code
        )
    assert answers == [302, 302, 429]


def test_logins_from_one_address_are_limited(settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {"login": "2/m/ip"}
    person = UserFactory()
    ip = fresh_ip()
    answers = [
        Client()
        .post("/accounts/login/", {"login": person.username, "password": PASSWORD}, REMOTE_ADDR=ip)
        .status_code
        for _ in range(3)
    ]
    assert answers == [302, 302, 429]


def test_contact_requests_are_limited_on_the_page_and_the_api(settings) -> None:
    settings.CONTACT_REQUEST_RATE_LIMIT = 2
    sender = UserFactory()
    browser = Client()
    browser.force_login(sender)
    page_answers = [
        browser.post(
            "/contacts/requests/",
            {"username": UserFactory().username},
            HTTP_ACCEPT="application/json",
        )
        for _ in range(2)
    ]
    assert all(a.status_code < 400 for a in page_answers), [a.content for a in page_answers]
    refused = browser.post(
        "/contacts/requests/", {"username": UserFactory().username}, HTTP_ACCEPT="application/json"
    )
    assert refused.status_code in {400, 429}
    assert "too many" in refused.content.decode().lower()
    api = browser.post(
        "/api/v1/contact-requests/",
        json.dumps({"username": UserFactory().username}),
        content_type="application/json",
    )
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "rate_limited"


@pytest.mark.django_db(transaction=True)
def test_messages_sent_through_the_api_are_limited(kafka_topics, settings) -> None:
    settings.MESSAGE_RATE_LIMIT = 2
    sender = UserFactory()
    chat = DirectConversationFactory(members=[sender, UserFactory()])
    browser = Client()
    browser.force_login(sender)

    def send():
        return browser.post(
            f"/api/v1/conversations/{chat.pk}/messages/",
            json.dumps({"client_id": str(uuid.uuid4()), "body": "hi"}),
            content_type="application/json",
        )

    answers = [send() for _ in range(3)]
    assert all(a.status_code < 300 for a in answers[:2]), [a.content for a in answers]
    assert answers[2].status_code == 429
    assert answers[2].json()["error"]["code"] == "rate_limited"


@pytest.mark.django_db(transaction=True)
async def test_messages_sent_on_the_socket_are_limited(kafka_topics, settings) -> None:
    settings.MESSAGE_RATE_LIMIT = 2
    sender, other = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    chat = await database_sync_to_async(DirectConversationFactory)(members=[sender, other])
    socket, _, _ = await socket_connect(sender)
    answers = []
    for _ in range(3):
        await socket.send_json_to(
            {
                "type": "message.send",
                "conversation": chat.pk,
                "client_id": str(uuid.uuid4()),
                "body": "hi",
            }
        )
        frame = await socket.receive_json_from(timeout=15)
        while frame["type"] not in {"message.ack", "error"}:
            frame = await socket.receive_json_from(timeout=15)
        answers.append(frame.get("code", frame["type"]))
    assert answers == ["message.ack", "message.ack", "rate_limited"]
    await socket.disconnect()
