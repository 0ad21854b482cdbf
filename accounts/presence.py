"""Who is online: sockets register in Redis and expire unless they ping.

Each user has a sorted set ``presence:<id>`` of their sockets' channel names,
scored by the time each registration expires.  A user is online while any
socket's registration is in the future, so a crashed process's sockets drop
out on their own, and a quick reconnect never shows as offline.

A connect registers at once (it must know whether the user came online); a
ping's refresh waits up to ``REFRESH_BATCH_SECONDS`` and is written together
with the other sockets' of the process, in one pipeline: with 10,000 tabs
pinging every 30 s that is one Redis round trip a second instead of 333, and
the refresh keeps the expiry its ping earned, so only the write is late.
"""

import asyncio
import logging
import time
import weakref

from django.conf import settings
from redis.exceptions import RedisError

from messenger.redis_client import async_client, key, sync_client

logger = logging.getLogger(__name__)

# How long a ping's refresh may wait for others to be written with it: short
# against PRESENCE_TTL_SECONDS (75), long enough to gather many.
REFRESH_BATCH_SECONDS = 1.0


def _key(user_id: int) -> str:
    return key("presence", user_id)


async def presence_touch(*, user_id: int, channel_name: str) -> bool:
    """Register (or refresh) one socket of the user; return True if they were offline."""
    now = time.time()
    async with async_client().pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(_key(user_id), "-inf", now)
        pipe.zcard(_key(user_id))
        pipe.zadd(_key(user_id), {channel_name: now + settings.PRESENCE_TTL_SECONDS})
        pipe.expire(_key(user_id), settings.PRESENCE_TTL_SECONDS + 5)
        _, before, _, _ = await pipe.execute()
    return int(before) == 0


async def presence_is_online(*, user_id: int) -> bool:
    """Return whether the user has a live socket."""
    return bool(await async_client().zcount(_key(user_id), time.time(), "+inf"))


async def presence_refresh(*, user_id: int, channel_name: str) -> None:
    """Keep one socket of the user registered for another PRESENCE_TTL_SECONDS.

    Returns at once; the refresh is written with the process's others within
    ``REFRESH_BATCH_SECONDS`` (see the module's docstring).
    """
    refresher = _refreshers.get(asyncio.get_running_loop())
    if refresher is None:
        refresher = _refreshers[asyncio.get_running_loop()] = _Refresher()
    refresher.add(user_id, channel_name, time.time() + settings.PRESENCE_TTL_SECONDS)


async def presence_leave(*, user_id: int, channel_name: str) -> None:
    """Forget one socket of the user."""
    refresher = _refreshers.get(asyncio.get_running_loop())
    if refresher is not None:
        # A refresh written after this would register the closed socket again.
        await refresher.forget(channel_name)
    await async_client().zrem(_key(user_id), channel_name)


def online_user_ids(*, user_ids: list[int]) -> set[int]:
    """Return which of these users have a live socket."""
    if not user_ids:
        return set()
    now = time.time()
    with sync_client().pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.zcount(_key(user_id), now, "+inf")
        counts = pipe.execute()
    return {user_id for user_id, count in zip(user_ids, counts, strict=True) if count}


class _Refresher:
    """One event loop's refreshes waiting to be written, and the task writing them."""

    def __init__(self) -> None:
        # channel name -> (user id, when its registration expires)
        self.pending: dict[str, tuple[int, float]] = {}
        self.task: asyncio.Task[None] | None = None
        self.writing: dict[str, tuple[int, float]] = {}
        self.write: asyncio.Task[None] | None = None

    def add(self, user_id: int, channel_name: str, expires: float) -> None:
        self.pending[channel_name] = (user_id, expires)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def forget(self, channel_name: str) -> None:
        """Drop a socket's refresh; wait for it if it is being written."""
        self.pending.pop(channel_name, None)
        if channel_name in self.writing and self.write is not None:
            # asyncio.wait: a cancelled disconnect must not cancel the others' refreshes.
            await asyncio.wait([self.write])

    async def _run(self) -> None:
        try:
            while self.pending:
                await asyncio.sleep(REFRESH_BATCH_SECONDS)
                self.writing, self.pending = self.pending, {}
                self.write = asyncio.get_running_loop().create_task(_refresh_write(self.writing))
                try:
                    await self.write
                finally:
                    self.writing, self.write = {}, None
        finally:
            self.task = None


async def _refresh_write(batch: dict[str, tuple[int, float]]) -> None:
    by_user: dict[int, dict[str, float]] = {}
    for channel_name, (user_id, expires) in batch.items():
        by_user.setdefault(user_id, {})[channel_name] = expires
    try:
        async with async_client().pipeline(transaction=False) as pipe:
            for user_id, registrations in by_user.items():
                pipe.zadd(_key(user_id), registrations)
                pipe.expire(_key(user_id), settings.PRESENCE_TTL_SECONDS + 5)
            await pipe.execute()
    except RedisError:
        # Best effort, as a ping is: the next ping, 30 s on, refreshes again.
        logger.warning("could not refresh the presence of %d sockets", len(batch), exc_info=True)


# One refresher per event loop: its task and Redis connections belong to that loop.
_refreshers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Refresher]" = (
    weakref.WeakKeyDictionary()
)
