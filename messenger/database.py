"""Database calls from async code that stay off daphne's shared sync thread."""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


def database_sync_to_async_unshared(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Return ``func`` as a coroutine function run on the default executor.

    For reads on every socket's way (a login, a send's rules) that need no
    other call's state: on the one thread daphne runs socket database work
    on (``thread_sensitive``), they queued behind every connect.

    The connection the call used is closed inside the call once it is past
    ``CONN_MAX_AGE``.  ``database_sync_to_async`` closes old connections
    outside the context the function runs in (asgiref 3.13 keeps Django's
    connections per context), so on the executor's threads it never saw
    them: they outlived their age, and the test database could not be
    dropped.
    """

    @functools.wraps(func)
    def closing(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return database_sync_to_async(closing, thread_sensitive=False)
