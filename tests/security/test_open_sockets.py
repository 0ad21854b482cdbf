"""A login, a logout, a session's expiry, a password change and a removal from a
group take effect on sockets already open: they stop receiving at once.

The session cases need no Kafka consumer: the session store itself tells the
sockets (messenger/sessions.py), and each socket watches its session's expiry.
"""

import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conversations import groups
from conversations.consumers import CLOSE_SESSION_CHANGED, CLOSE_SESSION_ENDED
from messenger.asgi import application
from messenger.sessions import SessionStore, session_expiry
from tests.conftest import receive_until, socket_connect
from tests.factories import PASSWORD, UserFactory, make_contacts

pytestmark = pytest.mark.django_db(transaction=True)


def browser_of(user) -> Client:
    browser = Client()
    assert browser.login(username=user.username, password=PASSWORD)
    return browser


async def socket_of(browser: Client) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    socket = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", cookie.encode()),
        ],
    )
    connected, _ = await socket.connect(timeout=10)
    assert connected
    return socket


async def assert_still_open(socket: WebsocketCommunicator) -> None:
    await socket.send_json_to({"type": "ping"})
    assert (await receive_until(socket, "pong"))["type"] == "pong"


async def test_a_logout_closes_that_sessions_sockets_at_once_without_kafka(kafka_topics) -> None:
    # No activity consumer runs: the session store closes them itself.
    ann = await database_sync_to_async(UserFactory)()
    browser = await database_sync_to_async(browser_of)(ann)
    socket = await socket_of(browser)
    other_device, _, _ = await socket_connect(ann)

    await database_sync_to_async(browser.post)(reverse("account_logout"))

    assert await socket.receive_output(timeout=10) == {
        "type": "websocket.close",
        "code": CLOSE_SESSION_ENDED,
    }
    await assert_still_open(other_device)
    await other_device.disconnect()


async def test_logging_in_as_someone_else_closes_the_previous_users_sockets(kafka_topics) -> None:
    ann, ben = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    browser = await database_sync_to_async(browser_of)(ann)
    socket = await socket_of(browser)

    # Django's login() flushes a session that belongs to another user.
    await database_sync_to_async(browser.force_login)(ben)

    assert await socket.receive_output(timeout=10) == {
        "type": "websocket.close",
        "code": CLOSE_SESSION_ENDED,
    }


async def test_a_socket_closes_when_its_session_expires(kafka_topics) -> None:
    ann = await database_sync_to_async(UserFactory)()
    browser = await database_sync_to_async(browser_of)(ann)

    def expire_soon() -> None:
        store = SessionStore(browser.cookies[settings.SESSION_COOKIE_NAME].value)
        store.set_expiry(3)
        store.save()

    await database_sync_to_async(expire_soon)()
    socket = await socket_of(browser)
    await assert_still_open(socket)

    # No request renewed the session: the socket closes when it expires.
    assert await socket.receive_output(timeout=15) == {
        "type": "websocket.close",
        "code": CLOSE_SESSION_ENDED,
    }


async def test_an_expired_or_deleted_session_no_longer_lets_a_socket_in(kafka_topics) -> None:
    ann = await database_sync_to_async(UserFactory)()
    browser = await database_sync_to_async(browser_of)(ann)
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert await database_sync_to_async(session_expiry)(session_key=key, user_id=ann.pk)
    await database_sync_to_async(
        lambda: Session.objects.filter(session_key=key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
    )()
    assert await database_sync_to_async(session_expiry)(session_key=key, user_id=ann.pk) is None
    _, connected, _ = await socket_connect(None, session_key=key)
    assert not connected


async def test_a_password_change_ends_the_other_sessions_sockets_and_reconnects_its_own(
    kafka_topics,
) -> None:
    ann = await database_sync_to_async(UserFactory)()
    here = await database_sync_to_async(browser_of)(ann)
    elsewhere = await database_sync_to_async(browser_of)(ann)
    own_socket = await socket_of(here)
    other_socket = await socket_of(elsewhere)

    answer = await database_sync_to_async(here.post)(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a new horse battery",
            "password2": "a new horse battery",
        },
    )
    assert answer.status_code == 302

    assert await other_socket.receive_output(timeout=10) == {
        "type": "websocket.close",
        "code": CLOSE_SESSION_ENDED,
    }
    # The session that changed it got a new key: its sockets reconnect with it.
    assert await own_socket.receive_output(timeout=10) == {
        "type": "websocket.close",
        "code": CLOSE_SESSION_CHANGED,
    }
    reconnected = await socket_of(here)
    await assert_still_open(reconnected)
    await reconnected.disconnect()


async def test_a_removed_member_stops_receiving_the_groups_messages(kafka_topics, consumer) -> None:
    def people():
        owner, kept, removed = UserFactory(), UserFactory(), UserFactory()
        make_contacts(owner, kept)
        make_contacts(owner, removed)
        group = groups.group_create(creator=owner, title="T", members=[kept, removed])
        return owner, kept, removed, group

    owner, kept, removed, group = await database_sync_to_async(people)()
    kept_socket, _, _ = await socket_connect(kept)
    removed_socket, _, _ = await socket_connect(removed)
    await database_sync_to_async(groups.group_member_remove)(
        user=owner, conversation_id=group.pk, person=removed
    )
    await receive_until(removed_socket, "conversation.removed")

    sender, _, _ = await socket_connect(owner)
    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": group.pk,
            "client_id": str(uuid.uuid4()),
            "body": "after",
        }
    )
    # The system message ("… removed …") may come first.
    while (await receive_until(kept_socket, "message.new"))["message"]["body"] != "after":
        pass
    # The kept member got it, so the push is done: nothing for the removed one.
    while not await removed_socket.receive_nothing(timeout=0.5):
        frame = await removed_socket.receive_json_from()
        assert frame["type"] != "message.new" or frame["message"]["body"] != "after", frame
    for socket in (kept_socket, removed_socket, sender):
        await socket.disconnect()
