"""Presence: online while any socket of the user is open, and not after its process dies."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from accounts.presence import online_user_ids, presence_leave, presence_touch
from messenger.redis_client import key, sync_client
from tests.conftest import receive_until, socket_connect, wait_until
from tests.factories import UserFactory


def expiry(user_id: int, channel_name: str) -> float | None:
    """Return when the socket's registration expires, as Redis has it."""
    return sync_client().zscore(key("presence", user_id), channel_name)


async def eventually(condition) -> None:
    """wait_until in a thread: the rewrites are written by this event loop."""
    await asyncio.to_thread(wait_until, condition, timeout=10)


async def test_online_while_any_socket_is_registered_and_fresh(settings) -> None:
    await presence_touch(user_id=101, channel_name="tab-1")
    await presence_touch(user_id=101, channel_name="tab-2")
    assert online_user_ids(user_ids=[101, 102]) == {101}
    await presence_leave(user_id=101, channel_name="tab-1")
    assert online_user_ids(user_ids=[101]) == {101}
    await presence_leave(user_id=101, channel_name="tab-2")
    assert online_user_ids(user_ids=[101]) == set()


async def test_the_sockets_of_a_crashed_process_drop_out(settings) -> None:
    settings.PRESENCE_TTL_SECONDS = -1  # Registered already expired: nobody rewrites it.
    await presence_touch(user_id=103, channel_name="ghost")
    assert online_user_ids(user_ids=[103]) == set()


@pytest.mark.django_db(transaction=True)
async def test_connecting_and_disconnecting_a_socket_sets_presence(kafka_topics) -> None:
    person = await database_sync_to_async(UserFactory)()
    socket, _, _ = await socket_connect(person)
    assert online_user_ids(user_ids=[person.pk]) == {person.pk}
    await socket.disconnect()
    assert online_user_ids(user_ids=[person.pk]) == set()


async def test_the_process_rewrites_an_open_sockets_registration(settings) -> None:
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    settings.PRESENCE_TTL_SECONDS = 60
    await presence_touch(user_id=104, channel_name="tab")
    first = expiry(104, "tab")
    await eventually(lambda: expiry(104, "tab") > first + 0.5)
    await presence_leave(user_id=104, channel_name="tab")
    assert expiry(104, "tab") is None


async def test_a_registration_redis_lost_comes_back_while_its_socket_is_open(settings) -> None:
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    await presence_touch(user_id=105, channel_name="tab")
    sync_client().delete(key("presence", 105))  # Redis restarted without its data.
    assert online_user_ids(user_ids=[105]) == set()
    await eventually(lambda: online_user_ids(user_ids=[105]) == {105})
    await presence_leave(user_id=105, channel_name="tab")


async def test_a_socket_that_left_is_not_registered_again(settings) -> None:
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    await presence_touch(user_id=106, channel_name="closing")
    await presence_touch(user_id=107, channel_name="staying")  # rewritten with it
    staying = expiry(107, "staying")
    await presence_leave(user_id=106, channel_name="closing")
    await eventually(lambda: expiry(107, "staying") > staying)
    assert online_user_ids(user_ids=[106]) == set()
    await presence_leave(user_id=107, channel_name="staying")


@pytest.mark.django_db(transaction=True)
async def test_an_open_socket_stays_online_without_pinging(kafka_topics, settings) -> None:
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    person = await database_sync_to_async(UserFactory)()
    socket, _, _ = await socket_connect(person)
    channel_name = sync_client().zrange(key("presence", person.pk), 0, -1)[0].decode()
    connected = expiry(person.pk, channel_name)
    await eventually(lambda: expiry(person.pk, channel_name) > connected + 0.5)
    # A ping is still answered, for clients that want a round trip.
    await socket.send_json_to({"type": "ping"})
    assert (await receive_until(socket, "pong"))["type"] == "pong"
    await socket.disconnect()
    assert online_user_ids(user_ids=[person.pk]) == set()
