"""A fixed-window rate limit shared by every process through Redis."""

import asyncio
import time
import weakref

import redis.asyncio as redis
from django.conf import settings

# One client per event loop: a redis.asyncio connection belongs to the loop
# that opened it.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def _client() -> redis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = redis.Redis.from_url(settings.REDIS_URL)
        _clients[loop] = client
    return client


async def rate_limit_hit(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one action; return True when it goes over the limit for this window."""
    window = int(time.time() // window_seconds)
    key = f"{settings.CACHES['default']['KEY_PREFIX']}:ratelimit:{scope}:{ident}:{window}"
    # One round trip: INCR is atomic, so concurrent sockets of one user count
    # correctly, and the first increment of a window sets its expiry.
    async with _client().pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_seconds + 1, nx=True)
        count, _ = await pipe.execute()
    return int(count) > limit
