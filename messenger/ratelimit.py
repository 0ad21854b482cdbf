"""A fixed-window rate limit shared by every process through Redis."""

import time

from messenger.redis_client import async_client, key, sync_client


def _window_key(scope: str, ident: str, window_seconds: int) -> str:
    return key("ratelimit", scope, ident, int(time.time() // window_seconds))


async def rate_limit_hit(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one action; return True when it goes over the limit for this window."""
    window_key = _window_key(scope, ident, window_seconds)
    # One round trip: INCR is atomic, so concurrent sockets of one user count
    # correctly, and the first increment of a window sets its expiry.
    async with async_client().pipeline(transaction=True) as pipe:
        pipe.incr(window_key)
        pipe.expire(window_key, window_seconds + 1, nx=True)
        count, _ = await pipe.execute()
    return int(count) > limit


def rate_limit_hit_sync(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one action from synchronous code; True when over the limit."""
    window_key = _window_key(scope, ident, window_seconds)
    with sync_client().pipeline(transaction=True) as pipe:
        pipe.incr(window_key)
        pipe.expire(window_key, window_seconds + 1, nx=True)
        count, _ = pipe.execute()
    return int(count) > limit
