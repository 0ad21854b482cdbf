"""Who is looking at which conversation: tabs report it over their socket.

Like presence, each ``viewing:<user>:<conversation>`` is a sorted set of the
channel names of the tabs that show it, scored by when that report expires;
``viewing-channel:<channel>`` remembers a tab's conversation so a new report
or a disconnect removes the old one.  Clients repeat the report every 30 s,
so a crashed process's tabs stop counting on their own.
"""

import time

from django.conf import settings

from messenger.redis_client import async_client, key, sync_client


def _key(user_id: int, conversation_id: int) -> str:
    return key("viewing", user_id, conversation_id)


def _channel_key(channel_name: str) -> str:
    return key("viewing-channel", channel_name)


async def viewing_set(*, user_id: int, channel_name: str, conversation_id: int | None) -> None:
    """Record which conversation one tab shows (None: none, or the tab is hidden)."""
    client = async_client()
    ttl = settings.VIEWING_TTL_SECONDS
    previous = await client.get(_channel_key(channel_name))
    async with client.pipeline(transaction=True) as pipe:
        if previous is not None and int(previous) != conversation_id:
            pipe.zrem(_key(user_id, int(previous)), channel_name)
        if conversation_id is None:
            pipe.delete(_channel_key(channel_name))
        else:
            now = time.time()
            pipe.zadd(_key(user_id, conversation_id), {channel_name: now + ttl})
            pipe.zremrangebyscore(_key(user_id, conversation_id), "-inf", now)
            pipe.expire(_key(user_id, conversation_id), ttl + 5)
            pipe.set(_channel_key(channel_name), conversation_id, ex=ttl + 5)
        await pipe.execute()


async def viewing_leave(*, user_id: int, channel_name: str) -> None:
    """Forget what a closed tab showed."""
    await viewing_set(user_id=user_id, channel_name=channel_name, conversation_id=None)


def viewing_user_ids(*, conversation_id: int, user_ids: list[int]) -> set[int]:
    """Return which of these users have a tab showing the conversation now."""
    if not user_ids:
        return set()
    now = time.time()
    with sync_client().pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.zcount(_key(user_id, conversation_id), now, "+inf")
        counts = pipe.execute()
    return {user_id for user_id, count in zip(user_ids, counts, strict=True) if count}
