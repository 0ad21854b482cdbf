"""A socket's login: who a session authenticates, checked as Django's get_user does."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client

from messenger.sessions import SessionStore, session_expiry, session_login
from tests.conftest import database_sessions, socket_connect
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def session_key_of(user) -> str:
    browser = Client()
    assert browser.login(username=user.username, password=PASSWORD)
    return browser.cookies[settings.SESSION_COOKIE_NAME].value


def test_a_login_session_names_its_user_and_its_expiry() -> None:
    ann = UserFactory()
    key = session_key_of(ann)
    login = session_login(session_key=key)
    assert login is not None
    assert login.user == ann
    assert login.expires_at == Session.objects.get(session_key=key).expire_date
    assert session_expiry(session_key=key, user_id=ann.pk) == login.expires_at
    assert session_expiry(session_key=key, user_id=ann.pk + 1) is None


def test_nobody_for_an_unknown_key_an_inactive_user_or_a_changed_password() -> None:
    assert session_login(session_key="no-such-session") is None
    ann, bob = UserFactory(), UserFactory()
    ann_key, bob_key = session_key_of(ann), session_key_of(bob)
    ann.is_active = False
    ann.save()
    bob.set_password("another-long-passphrase")
    bob.save()
    assert session_login(session_key=ann_key) is None
    assert session_login(session_key=bob_key) is None


def test_nobody_when_the_sessions_backend_is_no_longer_configured() -> None:
    key = session_key_of(UserFactory())
    session = SessionStore(session_key=key)
    session[BACKEND_SESSION_KEY] = "some.removed.Backend"
    session.save()
    assert session_login(session_key=key) is None


@pytest.mark.django_db(transaction=True)
async def test_a_socket_with_a_session_that_authenticates_nobody_is_refused() -> None:
    _, connected, _ = await socket_connect(None, session_key="no-such-session")
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_the_login_lookup_keeps_no_connection_past_its_age() -> None:
    people = [await database_sync_to_async(UserFactory)() for _ in range(3)]
    before = await database_sync_to_async(database_sessions)()
    sockets = []
    for person in people:
        communicator, connected, _ = await socket_connect(person)
        assert connected
        sockets.append(communicator)

    assert await database_sync_to_async(database_sessions)() == before
    for communicator in sockets:
        await communicator.disconnect()
