"""A fixed-window rate limit shared by every process through Django's cache (Redis)."""

import time

from django.core.cache import cache


async def rate_limit_hit(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one action; return True when it goes over the limit for this window."""
    window = int(time.time() // window_seconds)
    key = f"ratelimit:{scope}:{ident}:{window}"
    # add() creates the counter with its expiry only if it is missing; incr()
    # is atomic in Redis, so concurrent sockets of one user count correctly.
    await cache.aadd(key, 0, timeout=window_seconds + 1)
    count = await cache.aincr(key)
    return count > limit
