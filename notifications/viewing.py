"""Who is looking at which conversation: tabs report it over their socket.

Like presence, each ``viewing:<user>:<conversation>`` is a sorted set of the
channel names of the tabs that show it, scored by when that report expires.
The tab's web process keeps the report alive while the socket is open
(``messenger.registrations``), so a tab reports only when what it shows
changes, and a crashed process's tabs stop counting on their own.  Which
conversation each of this process's sockets shows is kept here, so a new
report or a disconnect removes the old one.
"""

import time
from collections.abc import Mapping, Sequence

from django.conf import settings

from messenger.redis_client import async_client, key, sync_client
from messenger.registrations import registration_forget, registration_keep

# channel name -> (user id, conversation id) of this process's sockets that
# show a conversation.
_shown: dict[str, tuple[int, int]] = {}


def _key(user_id: int, conversation_id: int) -> str:
    return key("viewing", user_id, conversation_id)


async def viewing_set(*, user_id: int, channel_name: str, conversation_id: int | None) -> None:
    """Record which conversation one tab shows (None: none, or the tab is hidden)."""
    previous = _shown.pop(channel_name, None)
    ttl = settings.VIEWING_TTL_SECONDS
    async with async_client().pipeline(transaction=True) as pipe:
        if previous is not None and previous != (user_id, conversation_id):
            await registration_forget(key=_key(*previous), member=channel_name)
            pipe.zrem(_key(*previous), channel_name)
        if conversation_id is not None:
            now = time.time()
            pipe.zadd(_key(user_id, conversation_id), {channel_name: now + ttl})
            pipe.zremrangebyscore(_key(user_id, conversation_id), "-inf", now)
            pipe.expire(_key(user_id, conversation_id), ttl + 5)
        await pipe.execute()
    if conversation_id is not None:
        _shown[channel_name] = (user_id, conversation_id)
        await registration_keep(
            key=_key(user_id, conversation_id), member=channel_name, ttl_seconds=ttl
        )


async def viewing_leave(*, user_id: int, channel_name: str) -> None:
    """Forget what a closed tab showed."""
    await viewing_set(user_id=user_id, channel_name=channel_name, conversation_id=None)


def viewers_by_conversation(*, members: Mapping[int, Sequence[int]]) -> dict[int, set[int]]:
    """Return, per conversation, which of its given users have a tab showing it now.

    One Redis round trip for them all: the consumer asks for every
    conversation of a batch.
    """
    now = time.time()
    asked = [(c, u) for c, user_ids in members.items() for u in user_ids]
    viewers: dict[int, set[int]] = {c: set() for c in members}
    if not asked:
        return viewers
    with sync_client().pipeline(transaction=False) as pipe:
        for conversation_id, user_id in asked:
            pipe.zcount(_key(user_id, conversation_id), now, "+inf")
        counts = pipe.execute()
    for (conversation_id, user_id), count in zip(asked, counts, strict=True):
        if count:
            viewers[conversation_id].add(user_id)
    return viewers
