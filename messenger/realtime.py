"""Push to channel-layer groups from synchronous code, such as Kafka handlers.

``async_to_sync`` would start a new event loop, and so a new Redis connection,
for every call.  Synchronous callers share one long-lived loop in a daemon
thread instead, and the channel layer keeps its connection on it.
"""

import asyncio
import concurrent.futures
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from messenger.redis_client import async_client

logger = logging.getLogger(__name__)

# Close code of a socket the server asks to reconnect: pushes to it may have
# been lost, and a reconnecting client syncs.  In the application's range:
# daphne (autobahn) lets an application close only with 1000 or 3000-4999,
# and failed the close with 1012 ("service restart") as an exception.
CLOSE_RECONNECT = 4012


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


@dataclass(frozen=True)
class _Push:
    sends: Sequence[tuple[str, dict[str, Any]]]
    # Set when the pusher waits for the frames to go out.
    done: concurrent.futures.Future[None] | None = None
    # Run once the frames went out, when nobody waits for them.
    then: Callable[[], None] | None = None


# Pushes queued by this process's threads and not yet sent; beyond this many,
# a push that nobody waits for is dropped (see frames_push_nowait).
PUSH_QUEUE_MAX = 10_000

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_queue: "asyncio.Queue[_Push] | None" = None
_worker: "asyncio.Task[None] | None" = None  # held: the loop keeps only a weak one


def _push_queue() -> tuple[asyncio.AbstractEventLoop, "asyncio.Queue[_Push]"]:
    """Return the push loop and its queue, starting them on first use.

    One worker sends every push of the process in the order queued, so a
    member's frames arrive in the order they were pushed whoever pushed them.
    """
    global _loop, _queue, _worker
    with _lock:
        if _loop is None or _queue is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            queue: asyncio.Queue[_Push] = asyncio.Queue()
            _worker = loop.create_task(_push_worker(queue))
            threading.Thread(
                target=loop.run_forever, name="channel-layer-push", daemon=True
            ).start()
            _loop, _queue = loop, queue
        return _loop, _queue


# How long a push nobody waits for is tried again while the channel layer
# refuses it (Redis restarting): a socket's watcher may already have had it
# reconnect and sync before this process's layer took pushes again, and then
# nothing else would bring it these frames.  Clients drop repeated frames by id.
PUSH_RETRY_SECONDS = 10.0


async def _push_worker(queue: "asyncio.Queue[_Push]") -> None:
    while True:
        push = await queue.get()
        try:
            if push.done is None:
                await _send_retrying(push.sends)
            else:
                await _send_all(push.sends)
        except Exception as exc:
            if push.done is not None:
                push.done.set_exception(exc)
            else:
                logger.exception(
                    "pushing %d frames through the channel layer failed", len(push.sends)
                )
            continue
        if push.done is not None:
            push.done.set_result(None)
        if push.then is not None:
            try:
                push.then()
            except Exception:
                logger.exception("after a push")


async def _send_retrying(sends: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Send frames, trying again for up to PUSH_RETRY_SECONDS; the pushes behind wait."""
    deadline = time.monotonic() + PUSH_RETRY_SECONDS
    pause = 0.1
    while True:
        try:
            await _send_all(sends)
            return
        except Exception:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("the channel layer refused %d frames; trying again", len(sends))
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)


def _enqueue(push: _Push, *, limit: int | None = None) -> bool:
    """Queue a push for the worker; return False, queueing nothing, when ``limit`` are waiting."""
    loop, queue = _push_queue()
    if limit is not None and queue.qsize() >= limit:
        return False
    loop.call_soon_threadsafe(queue.put_nowait, push)
    return True


def group_send_many(sends: Sequence[tuple[str, dict[str, Any]]], *, timeout: float = 10) -> None:
    """Send each (group, message) pair through the channel layer, in order; wait for it."""
    if not sends:
        return
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    _enqueue(_Push(sends=sends, done=done))
    done.result(timeout=timeout)


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


def frames_push_nowait(
    sends: Sequence[tuple[str, dict[str, Any]]], *, then: Callable[[], None] | None = None
) -> None:
    """Queue frames to push best effort, and return at once; ``then`` runs once they went out.

    For the consumer: waiting for its pushes was a sixth of its time, while
    the next batch could be stored.  They go out in order with every other
    push of the process.  One the layer refuses is tried again for up to
    PUSH_RETRY_SECONDS, then dropped and logged.  When the channel layer stops
    taking pushes and the queue is full, the frames are dropped: the
    channel-layer watcher then has clients reconnect and sync.
    """
    if sends and not _enqueue(_Push(sends=sends, then=then), limit=PUSH_QUEUE_MAX):
        logger.error("push queue full: %d frames dropped", len(sends))


# The channel layer is at-most-once: while this process's Redis subscription
# is down (Redis restarting, a broken connection) pushes to its sockets are
# dropped, and an open socket would never learn of them.  A watcher sends
# itself a numbered probe through the layer every CHANNEL_LAYER_CHECK_MS; when
# a probe arrives after a gap (one sent before it never came: one channel's
# messages arrive in order, so it was dropped), or Redis restarted (its
# run_id changed), or Redis could not be reached, it waits until every probe
# sent has come back and then closes this process's sockets with
# CLOSE_RECONNECT.  Clients reconnect and ``sync`` from PostgreSQL.  Probes
# that are only late are not a loss: under load, pushes queue behind each
# other for seconds, and counting late probes as lost closed every socket of
# a busy process at once, which added a reconnect storm to the load.
# Redis counts as unreachable when INFO has not answered within this many checks.
INFO_TIMEOUT_CHECKS = 5
_sockets: set[str] = set()
_watcher: "asyncio.Task[None] | None" = None


def socket_opened(channel_name: str) -> None:
    """Count a socket of this process, and watch the channel layer while there is one."""
    global _watcher
    _sockets.add(channel_name)
    loop = asyncio.get_running_loop()
    if _watcher is None or _watcher.done() or _watcher.get_loop() is not loop:
        _watcher = loop.create_task(_layer_watch(), name="channel-layer-watch")


def socket_closed(channel_name: str) -> None:
    """Forget a closed socket; stop watching when it was the last."""
    _sockets.discard(channel_name)
    if not _sockets and _watcher is not None and not _watcher.done():
        _watcher.cancel()


@dataclass
class _Probes:
    sent: int = 0
    seen: int = 0
    gap: bool = False  # a probe arrived after one that never did


async def _layer_watch() -> None:
    layer = get_channel_layer()
    interval = settings.CHANNEL_LAYER_CHECK_MS / 1000
    probes = _Probes()
    receiver: asyncio.Task[None] | None = None
    run_id: str | None = None
    lost = False
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                if receiver is None:
                    channel = await layer.new_channel("probe.")
                    receiver = asyncio.get_running_loop().create_task(
                        _probes_receive(layer, channel, probes)
                    )
                info = await asyncio.wait_for(
                    async_client().info("server"), INFO_TIMEOUT_CHECKS * interval
                )
                current = info["run_id"]
            except Exception:
                lost = True
                continue
            lost = lost or probes.gap or (run_id is not None and current != run_id)
            probes.gap = False
            run_id = current
            if probes.seen == probes.sent and lost:
                # The last probe made the round trip: pushes flow again.  A
                # socket the layer could not reach yet is asked at the next check.
                lost = not await _sockets_reconnect(layer)
            try:
                probes.sent += 1
                await layer.send(channel, {"type": "probe", "n": probes.sent})
            except Exception:
                lost = True
    finally:
        if receiver is not None:
            receiver.cancel()


async def _probes_receive(layer: Any, channel: str, probes: _Probes) -> None:
    while True:
        try:
            message = await layer.receive(channel)
        except Exception:
            # Redis away: the layer reconnects; probes are counted lost meanwhile.
            await asyncio.sleep(settings.CHANNEL_LAYER_CHECK_MS / 1000)
            continue
        if message["n"] > probes.seen + 1:
            probes.gap = True
        probes.seen = max(probes.seen, message["n"])


async def _sockets_reconnect(layer: Any) -> bool:
    """Ask every socket of this process to reconnect; return whether each was asked."""
    logger.warning(
        "the channel layer may have dropped pushes; reconnecting %d sockets", len(_sockets)
    )
    asked = True
    for channel_name in list(_sockets):
        try:
            await layer.send(channel_name, {"type": "socket.reconnect"})
        except Exception as exc:
            # Right after a Redis restart the layer's first sends can fail.
            logger.warning("could not ask a socket to reconnect yet: %r", exc)
            asked = False
    return asked
