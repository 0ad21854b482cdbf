"""Database calls from async code that stay off daphne's shared sync thread."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from messenger.database import database_sync_to_async_unshared
from tests.conftest import database_sessions
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def username_of(pk: int) -> str:
    return User.objects.get(pk=pk).username


async def test_a_call_runs_while_the_shared_thread_is_busy() -> None:
    ann = await database_sync_to_async(UserFactory)(username="ann")
    release = threading.Event()
    # Holds the one thread every thread-sensitive call runs on.
    busy = asyncio.ensure_future(database_sync_to_async(release.wait)(30))
    try:
        name = await asyncio.wait_for(database_sync_to_async_unshared(username_of)(ann.pk), 10)
    finally:
        release.set()
        await busy

    assert name == "ann"


async def test_calls_keep_no_connection_past_its_age() -> None:
    people = [await database_sync_to_async(UserFactory)() for _ in range(3)]
    before = await database_sync_to_async(database_sessions)()

    names = await asyncio.gather(
        *(database_sync_to_async_unshared(username_of)(person.pk) for person in people)
    )

    assert names == [person.username for person in people]
    assert await database_sync_to_async(database_sessions)() == before


async def test_an_error_is_raised_to_the_caller_and_its_connection_closed_too() -> None:
    before = await database_sync_to_async(database_sessions)()

    with pytest.raises(User.DoesNotExist):
        await database_sync_to_async_unshared(username_of)(0)

    assert await database_sync_to_async(database_sessions)() == before
