"""Push to channel-layer groups from synchronous code, such as Kafka handlers.

``async_to_sync`` would start a new event loop, and so a new Redis connection,
for every call.  Synchronous callers share one long-lived loop in a daemon
thread instead, and the channel layer keeps its connection on it.
"""

import asyncio
import hashlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """Return the channel-layer group that reaches every socket of a user."""
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    """Return the group of every socket opened with one login session."""
    # Hashed: group names travel through Redis and logs; session keys must not.
    return f"session.{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"


def token_group(token_id: int) -> str:
    """Return the group of every socket opened with one personal access token."""
    return f"token.{token_id}"


def session_hash(session_key: str) -> str:
    """Return the hash that names a session's group."""
    return session_group(session_key).removeprefix("session.")


_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _push_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="channel-layer-push", daemon=True
            ).start()
            _loop = loop
        return _loop


def group_send_many(sends: Sequence[tuple[str, dict[str, Any]]], *, timeout: float = 10) -> None:
    """Send each (group, message) pair through the channel layer, in order; wait for it."""
    if not sends:
        return
    future = asyncio.run_coroutine_threadsafe(_send_all(sends), _push_loop())
    future.result(timeout=timeout)


async def _send_all(sends: Sequence[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("CHANNEL_LAYERS is not configured")
    for group, message in sends:
        await layer.group_send(group, message)


def frames_push(sends: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Push frames best effort: log a failure, never raise; return whether it went.

    Pushes are the fast path only; what matters is already in PostgreSQL.
    """
    try:
        group_send_many(sends)
    except Exception:
        logger.exception("pushing %d frames through the channel layer failed", len(sends))
        return False
    return True
