"""Message search: the search page's service, newest first, in keyset pages."""

from collections.abc import Callable

from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from accounts.models import User
from conversations.models import Conversation
from tests.api.conftest import error_of


def test_search_finds_ones_own_messages_in_pages(
    as_alice: APIClient,
    as_carol: APIClient,
    alice: User,
    bob: User,
    direct: Conversation,
    store: Callable,
    settings: SettingsWrapper,
) -> None:
    settings.SEARCH_PAGE_SIZE = 2
    store(direct, bob, "pizza tonight?", "unrelated", "more pizza", "pizza again")

    first = as_alice.get("/api/v1/search/messages/", {"q": "pizza"}).json()
    second = as_alice.get(first["next"]).json()

    assert [h["body"] for h in first["results"]] == ["pizza again", "more pizza"]
    assert [h["body"] for h in second["results"]] == ["pizza tonight?"]
    assert "<mark>pizza</mark>" in first["results"][0]["snippet"]
    assert first["results"][0]["sender"]["username"] == "bob"
    assert first["results"][0]["conversation"] == direct.pk
    assert as_carol.get("/api/v1/search/messages/", {"q": "pizza"}).json()["results"] == []


def test_search_by_sender_and_conversation(
    as_alice: APIClient, alice: User, bob: User, direct: Conversation, store: Callable
) -> None:
    store(direct, bob, "pizza from bob")
    store(direct, alice, "pizza from alice")

    by_bob = as_alice.get("/api/v1/search/messages/", {"q": "pizza", "person": "bob"}).json()
    elsewhere = as_alice.get(
        "/api/v1/search/messages/", {"q": "pizza", "conversation": direct.pk + 1000}
    ).json()

    assert [h["body"] for h in by_bob["results"]] == ["pizza from bob"]
    assert elsewhere["results"] == []


def test_refused_searches_say_why(
    as_alice: APIClient, direct: Conversation, settings: SettingsWrapper
) -> None:
    settings.SEARCH_MAX_QUERY_LENGTH = 5

    too_long = as_alice.get("/api/v1/search/messages/", {"q": "abcdefgh"})
    nobody = as_alice.get("/api/v1/search/messages/", {"q": "x", "person": "ghost"})

    assert (too_long.status_code, error_of(too_long)["code"]) == (400, "query_too_long")
    assert list(error_of(nobody)["fields"]) == ["person"]
