"""The process's Redis clients, for what the cache API cannot do in one round trip."""

import asyncio
import threading
import weakref
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# One async client per event loop: a redis.asyncio connection belongs to the
# loop that opened it.  The sync client's pool is thread-safe.
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis]" = (
    weakref.WeakKeyDictionary()
)
_sync_client: redis.Redis | None = None
ASYNC_POOL_SIZE = 100
ASYNC_POOL_TIMEOUT = 10.0
_sync_lock = threading.Lock()


def async_client() -> aredis.Redis:
    """Return this event loop's Redis client."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        # A blocking pool: past its size a command waits for a free
        # connection (up to the timeout) instead of failing at once with
        # "Too many connections", as the default pool does when a web process
        # has more than 100 sockets' rate limits and presence in flight.
        pool = aredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=ASYNC_POOL_SIZE, timeout=ASYNC_POOL_TIMEOUT
        )
        client = _async_clients[loop] = aredis.Redis(connection_pool=pool)
    return client


def sync_client() -> redis.Redis:
    """Return the process's Redis client for synchronous code."""
    global _sync_client
    with _sync_lock:
        if _sync_client is None:
            _sync_client = redis.Redis.from_url(settings.REDIS_URL)
        return _sync_client


def key(*parts: object) -> str:
    """Return a Redis key under this deployment's (or test run's) prefix."""
    return ":".join([settings.CACHES["default"]["KEY_PREFIX"], *map(str, parts)])


@receiver(setting_changed)
def _clients_forget(*, setting: str, **kwargs: Any) -> None:
    """Forget the clients when ``REDIS_URL`` changes (tests): new ones connect to the new URL."""
    global _sync_client
    if setting == "REDIS_URL":
        _async_clients.clear()
        with _sync_lock:
            _sync_client = None
