"""A sliding-window rate limit shared by every process through Redis.

Each window of ``window_seconds`` has a counter; an action counts what this
window holds plus the previous window's count weighted by how much of the
last ``window_seconds`` it still covers.  A plain fixed window let twice the
limit through around a boundary (the limit just before it, the limit again
just after), and a burst that straddled one went unlimited.
"""

import time
from dataclasses import dataclass
from typing import Any

from messenger.redis_client import async_client, key, sync_client


@dataclass(frozen=True)
class _Windows:
    current: str
    previous: str
    # How far into the current window we are, 0 to 1.
    elapsed: float


def _windows(scope: str, ident: str, window_seconds: int) -> _Windows:
    now = time.time()
    index, into = divmod(now, window_seconds)
    return _Windows(
        current=key("ratelimit", scope, ident, int(index)),
        previous=key("ratelimit", scope, ident, int(index) - 1),
        elapsed=into / window_seconds,
    )


def _queue(pipe: Any, windows: _Windows, window_seconds: int) -> None:
    """Queue the count on a pipeline, sync or async: its answers are (count, _, previous)."""
    # INCR is atomic, so concurrent sockets of one user count correctly; a
    # counter lives on through the next window, which weighs it.
    pipe.incr(windows.current)
    pipe.expire(windows.current, 2 * window_seconds + 1, nx=True)
    pipe.get(windows.previous)


def _over(windows: _Windows, current: Any, previous: Any, limit: int) -> bool:
    # Redis answers counts as integers (INCR) or digits (GET, None if unset).
    return int(current) + int(previous or 0) * (1 - windows.elapsed) > limit


async def rate_limit_hit(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one action; return True when it goes over the limit for the last window."""
    windows = _windows(scope, ident, window_seconds)
    # One round trip.
    async with async_client().pipeline(transaction=True) as pipe:
        _queue(pipe, windows, window_seconds)
        current, _, previous = await pipe.execute()
    return _over(windows, current, previous, limit)


def rate_limit_hit_sync(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one action from synchronous code; True when over the limit for the last window."""
    windows = _windows(scope, ident, window_seconds)
    with sync_client().pipeline(transaction=True) as pipe:
        _queue(pipe, windows, window_seconds)
        current, _, previous = pipe.execute()
    return _over(windows, current, previous, limit)
