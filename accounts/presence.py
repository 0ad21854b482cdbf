"""Who is online: each socket is registered in Redis while it is open.

Each user has a sorted set ``presence:<id>`` of their sockets' channel names,
scored by the time each registration expires.  A user is online while any
socket's registration is in the future.  The socket's web process rewrites
the registration while the socket is open (``messenger.registrations``), so
a crashed process's sockets drop out on their own, and a quick reconnect
never shows as offline.
"""

import time

from django.conf import settings

from messenger.redis_client import async_client, key, sync_client
from messenger.registrations import registration_forget, registration_keep


def _key(user_id: int) -> str:
    return key("presence", user_id)


async def presence_touch(*, user_id: int, channel_name: str) -> bool:
    """Register a new socket of the user while it is open; return True if they were offline."""
    now = time.time()
    async with async_client().pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(_key(user_id), "-inf", now)
        pipe.zcard(_key(user_id))
        pipe.zadd(_key(user_id), {channel_name: now + settings.PRESENCE_TTL_SECONDS})
        pipe.expire(_key(user_id), settings.PRESENCE_TTL_SECONDS + 5)
        _, before, _, _ = await pipe.execute()
    await registration_keep(
        key=_key(user_id), member=channel_name, ttl_seconds=settings.PRESENCE_TTL_SECONDS
    )
    return int(before) == 0


async def presence_is_online(*, user_id: int) -> bool:
    """Return whether the user has a live socket."""
    return bool(await async_client().zcount(_key(user_id), time.time(), "+inf"))


async def presence_leave(*, user_id: int, channel_name: str) -> None:
    """Forget one socket of the user."""
    await registration_forget(key=_key(user_id), member=channel_name)
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
