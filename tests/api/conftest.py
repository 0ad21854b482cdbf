"""Fixtures of the API tests: signed-in clients and a conversation with history."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from conversations.models import Conversation, Message
from conversations.services import conversation_direct_get_or_create, messages_store
from tests.factories import UserFactory, make_contacts, message_sent_envelope


def signed_in(user: User) -> APIClient:
    """Return a client with a session of ``user`` (as a browser has)."""
    client = APIClient()
    client.force_login(user)
    return client


def error_of(response: Any) -> dict[str, Any]:
    """Return the error object of an API answer, checking the one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def carol(db: None) -> User:
    return UserFactory(username="carol", display_name="Carol")


@pytest.fixture
def as_alice(alice: User) -> APIClient:
    return signed_in(alice)


@pytest.fixture
def as_bob(bob: User) -> APIClient:
    return signed_in(bob)


@pytest.fixture
def as_carol(carol: User) -> APIClient:
    return signed_in(carol)


@pytest.fixture
def direct(alice: User, bob: User) -> Conversation:
    """The one-to-one conversation of alice and bob, who are contacts."""
    make_contacts(alice, bob)
    return conversation_direct_get_or_create(user=alice, other=bob)


@pytest.fixture
def store() -> Callable[..., list[Message]]:
    """Store messages as the consumer does; return them in order."""

    def store(conversation: Conversation, sender: User, *bodies: str) -> list[Message]:
        return messages_store(
            envelopes=[
                message_sent_envelope(conversation=conversation, sender=sender, body=body)
                for body in bodies
            ]
        )

    return store
