"""CSRF: every address of the site, posted to from a logged-in browser without
the CSRF token, is refused (403) or does not take POST (405).

The addresses come from walking the URL configuration, so a new view is
covered the day it is added.  Bearer-token API calls need no CSRF token (no
browser sends a bearer token on its own); session API calls do.
"""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import AccessToken
from accounts.services import token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SAMPLES = {"int": "1", "str": "someone", "uuid": str(uuid.uuid4()), "slug": "x", "path": "x"}


def addresses(patterns=None, prefix: str = "") -> list[str]:
    """Every concrete address of the URL configuration, with sample arguments."""
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(entry.pattern)
        if route.startswith("^"):
            # A regular expression (admin's catch-all, the API's unknown-route
            # view): only plain ones can be filled in.
            route = route.lstrip("^").rstrip("$")
            if re.search(r"[()\[\]\\*+?]", route):
                continue
        route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)
        if isinstance(entry, URLResolver):
            found.extend(addresses(entry.url_patterns, prefix + route))
        elif isinstance(entry, URLPattern):
            found.append("/" + prefix + route)
    return sorted(set(found))


def test_the_walk_finds_the_forms_that_matter() -> None:
    found = addresses()
    for expected in (
        "/accounts/login/",
        "/accounts/logout/",
        "/contacts/requests/",
        "/conversations/start/",
        "/people/me/edit/",
        "/notifications/read/",
        "/api/v1/conversations/groups/",
    ):
        assert expected in found
    assert len(found) > 60


@pytest.mark.parametrize("address", addresses())
def test_a_post_without_the_csrf_token_is_refused(address) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(UserFactory())
    answer = browser.post(address, {"x": "1"})
    assert answer.status_code in {403, 405, 404}, (address, answer.status_code)
    if answer.status_code == 403 and not address.startswith(("/admin/", "/api/docs/")):
        # Refused for the missing token, not for some other reason.
        assert b"CSRF" in answer.content, answer.content[:200]


def test_a_session_api_call_needs_the_token_and_a_bearer_call_does_not() -> None:
    person = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    refused = browser.patch("/api/v1/me/", '{"status_text": "x"}', content_type="application/json")
    assert refused.status_code == 403
    token = token_create(user=person, name="cli", scopes=[s.value for s in AccessToken.Scope])
    scripted = Client(enforce_csrf_checks=True).patch(
        "/api/v1/me/",
        '{"status_text": "from a script"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token.plaintext}",
    )
    assert scripted.status_code == 200
