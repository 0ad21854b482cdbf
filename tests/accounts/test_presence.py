"""Presence: online while any socket of the user is connected and pinging."""

import pytest
from channels.db import database_sync_to_async

from accounts.presence import online_user_ids, presence_leave, presence_touch
from tests.conftest import socket_connect
from tests.factories import UserFactory


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
