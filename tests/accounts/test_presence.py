"""Presence: online while any socket of the user is connected and pinging."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from accounts import presence
from accounts.presence import online_user_ids, presence_leave, presence_refresh, presence_touch
from messenger.redis_client import key, sync_client
from tests.conftest import receive_until, socket_connect, wait_until
from tests.factories import UserFactory


def expiry(user_id: int, channel_name: str) -> float | None:
    """Return when the socket's registration expires, as Redis has it."""
    return sync_client().zscore(key("presence", user_id), channel_name)


async def eventually(condition) -> None:
    """wait_until in a thread: the refreshes are written by this event loop."""
    await asyncio.to_thread(wait_until, condition, timeout=10)


async def test_online_while_any_socket_is_registered_and_fresh(settings) -> None:
    await presence_touch(user_id=101, channel_name="tab-1")
    await presence_touch(user_id=101, channel_name="tab-2")
    assert online_user_ids(user_ids=[101, 102]) == {101}
    await presence_leave(user_id=101, channel_name="tab-1")
    assert online_user_ids(user_ids=[101]) == {101}
    await presence_leave(user_id=101, channel_name="tab-2")
    assert online_user_ids(user_ids=[101]) == set()


async def test_a_socket_that_stops_pinging_drops_out(settings) -> None:
    settings.PRESENCE_TTL_SECONDS = -1  # Registered already expired: a crashed process.
    await presence_touch(user_id=103, channel_name="ghost")
    assert online_user_ids(user_ids=[103]) == set()


@pytest.mark.django_db(transaction=True)
async def test_connecting_and_disconnecting_a_socket_sets_presence(kafka_topics) -> None:
    person = await database_sync_to_async(UserFactory)()
    socket, _, _ = await socket_connect(person)
    assert online_user_ids(user_ids=[person.pk]) == {person.pk}
    await socket.disconnect()
    assert online_user_ids(user_ids=[person.pk]) == set()


async def test_a_refresh_extends_the_registration_by_the_ttl(settings) -> None:
    settings.PRESENCE_TTL_SECONDS = 60
    await presence_touch(user_id=104, channel_name="tab")
    first = expiry(104, "tab")
    settings.PRESENCE_TTL_SECONDS = 600
    await presence_refresh(user_id=104, channel_name="tab")
    await eventually(lambda: expiry(104, "tab") > first + 500)
    await presence_leave(user_id=104, channel_name="tab")


async def test_a_refresh_brings_a_lapsed_socket_back(settings) -> None:
    settings.PRESENCE_TTL_SECONDS = -1  # Lapsed: its pings stopped for a while.
    await presence_touch(user_id=105, channel_name="sleeper")
    assert online_user_ids(user_ids=[105]) == set()
    settings.PRESENCE_TTL_SECONDS = 75
    await presence_refresh(user_id=105, channel_name="sleeper")
    await eventually(lambda: online_user_ids(user_ids=[105]) == {105})
    await presence_leave(user_id=105, channel_name="sleeper")


async def test_refreshes_of_many_sockets_are_written_together(settings, monkeypatch) -> None:
    batches: list[int] = []
    write = presence._refresh_write

    async def counted(batch):
        batches.append(len(batch))
        await write(batch)

    monkeypatch.setattr(presence, "_refresh_write", counted)
    for n in range(50):
        await presence_refresh(user_id=200 + n % 10, channel_name=f"tab-{n}")
    await eventually(
        lambda: online_user_ids(user_ids=list(range(200, 210))) == set(range(200, 210))
    )
    assert batches == [50]
    for n in range(50):
        await presence_leave(user_id=200 + n % 10, channel_name=f"tab-{n}")


async def test_a_socket_that_left_is_not_registered_again_by_its_pending_refresh(settings) -> None:
    await presence_touch(user_id=106, channel_name="closing")
    await presence_refresh(user_id=106, channel_name="closing")
    await presence_refresh(user_id=107, channel_name="staying")  # in the same batch
    await presence_leave(user_id=106, channel_name="closing")
    await eventually(lambda: online_user_ids(user_ids=[107]) == {107})
    assert online_user_ids(user_ids=[106]) == set()
    await presence_leave(user_id=107, channel_name="staying")


async def test_leaving_during_the_write_of_its_refresh_waits_for_it(settings, monkeypatch) -> None:
    # Else the write, landing after the leave, would keep a closed socket
    # online for PRESENCE_TTL_SECONDS and its user would never be announced offline.
    started, release = asyncio.Event(), asyncio.Event()
    write = presence._refresh_write

    async def held(batch):
        started.set()
        await release.wait()
        await write(batch)

    monkeypatch.setattr(presence, "_refresh_write", held)
    await presence_touch(user_id=108, channel_name="closing")
    await presence_refresh(user_id=108, channel_name="closing")
    await asyncio.wait_for(started.wait(), timeout=10)
    leaving = asyncio.create_task(presence_leave(user_id=108, channel_name="closing"))
    done, _ = await asyncio.wait([leaving], timeout=0.2)
    assert not done  # It waits for the write…
    release.set()
    await asyncio.wait_for(leaving, timeout=10)
    assert online_user_ids(user_ids=[108]) == set()  # …and then removes the socket.


@pytest.mark.django_db(transaction=True)
async def test_a_ping_keeps_the_socket_registered(kafka_topics, settings) -> None:
    person = await database_sync_to_async(UserFactory)()
    settings.PRESENCE_TTL_SECONDS = 60
    socket, _, _ = await socket_connect(person)
    channel_name = sync_client().zrange(key("presence", person.pk), 0, -1)[0].decode()
    connected = expiry(person.pk, channel_name)
    settings.PRESENCE_TTL_SECONDS = 600
    await socket.send_json_to({"type": "ping"})
    assert (await receive_until(socket, "pong"))["type"] == "pong"
    await eventually(lambda: expiry(person.pk, channel_name) > connected + 500)
    await socket.disconnect()
    assert online_user_ids(user_ids=[person.pk]) == set()
