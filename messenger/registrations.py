"""Keep open sockets' registrations in Redis alive, written by their web process.

Presence (``accounts.presence``) and viewing (``notifications.viewing``)
register a socket as a member of a Redis sorted set, scored by when the
registration expires, so the sockets of a process that crashed or froze drop
out on their own.  While a socket is open its process rewrites its
registrations every ``SOCKET_REGISTRATION_REFRESH_SECONDS`` (30), well within
their time to live (75 s): a tab need not send anything to stay registered,
so an idle tab is silent (daphne's protocol-level pings, answered by the
browser itself, find peers that are gone).  Clients used to ping and report
their focus every 30 s for this; with 10,000 tabs that was 667 frames a
second through the application, most of an idle web process's CPU.

Rewrites are spread over time as the sockets connected, and each second's
are written by one Redis script call: as a pipeline of ``ZADD`` and
``EXPIRE`` they cost the web process 15 ms of CPU a second for 10,000
sockets, as one script 1.7 ms.  (A script's keys must share a hash slot on a
Redis Cluster; these are plain keys of the one Redis the app uses.)
"""

import asyncio
import collections
import logging
import time
import weakref
from dataclasses import dataclass

from django.conf import settings
from redis.exceptions import RedisError

from messenger.redis_client import async_client

logger = logging.getLogger(__name__)

# How often the due rewrites are written: short against the time to live.
WRITE_EVERY_SECONDS = 1.0

# KEYS: the sorted sets; ARGV: the time now, then each key's member and TTL.
_REWRITE_LUA = """
local now = tonumber(ARGV[1])
for i, name in ipairs(KEYS) do
  local ttl = tonumber(ARGV[2 * i + 1])
  redis.call('ZADD', name, now + ttl, ARGV[2 * i])
  redis.call('EXPIRE', name, ttl + 5)
end
return #KEYS
"""


@dataclass(frozen=True)
class _Registration:
    key: str
    member: str
    ttl_seconds: int


async def registration_keep(*, key: str, member: str, ttl_seconds: int) -> None:
    """Rewrite ``member`` of the sorted set ``key`` while it is kept, with this TTL.

    The caller writes the registration first; the first rewrite is one
    refresh interval later.
    """
    _keeper().keep(_Registration(key, member, ttl_seconds))


async def registration_forget(*, key: str, member: str) -> None:
    """Stop rewriting a registration; return once no rewrite of it is in flight.

    A rewrite landing after the caller removes the registration would
    register a closed socket again until its TTL ran out.
    """
    keeper = _keepers.get(asyncio.get_running_loop())
    if keeper is not None:
        await keeper.forget(key, member)


def registrations_kept() -> int:
    """Return how many registrations this event loop's process keeps alive."""
    keeper = _keepers.get(asyncio.get_running_loop())
    return 0 if keeper is None else len(keeper.kept)


class _Keeper:
    """One event loop's kept registrations, in the order they are due, and their writer."""

    def __init__(self) -> None:
        # (key, member) -> the registration, while kept.
        self.kept: dict[tuple[str, str], _Registration] = {}
        # (when due, registration), oldest first: every registration is due
        # one interval after its last write, so appending keeps the order.
        self.due: collections.deque[tuple[float, _Registration]] = collections.deque()
        self.task: asyncio.Task[None] | None = None
        self.writing: set[tuple[str, str]] = set()
        self.write: asyncio.Task[None] | None = None

    def keep(self, registration: _Registration) -> None:
        self.kept[(registration.key, registration.member)] = registration
        self.due.append((time.monotonic() + _interval(), registration))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def forget(self, key: str, member: str) -> None:
        self.kept.pop((key, member), None)
        if (key, member) in self.writing and self.write is not None:
            # asyncio.wait: a cancelled disconnect must not cancel the others' rewrites.
            await asyncio.wait([self.write])

    async def _run(self) -> None:
        try:
            while self.kept:
                await asyncio.sleep(min(WRITE_EVERY_SECONDS, _interval()))
                batch = self._take_due(time.monotonic())
                if not batch:
                    continue
                self.writing = {(r.key, r.member) for r in batch}
                self.write = asyncio.get_running_loop().create_task(_write(batch))
                try:
                    await self.write
                finally:
                    self.writing, self.write = set(), None
        finally:
            self.task = None

    def _take_due(self, now: float) -> list[_Registration]:
        """Return the registrations due now, and schedule their next rewrite."""
        batch: list[_Registration] = []
        interval = _interval()
        while self.due and self.due[0][0] <= now:
            _, registration = self.due.popleft()
            # Forgotten, or kept again since (then its newer entry is queued).
            if self.kept.get((registration.key, registration.member)) is registration:
                batch.append(registration)
                self.due.append((now + interval, registration))
        return batch


def _interval() -> float:
    return float(settings.SOCKET_REGISTRATION_REFRESH_SECONDS)


async def _write(batch: list[_Registration]) -> None:
    args: list[str | float | int] = [time.time()]
    for registration in batch:
        args += [registration.member, registration.ttl_seconds]
    try:
        # EVALSHA, loading the script again after a Redis restart.
        rewrite = async_client().register_script(_REWRITE_LUA)
        await rewrite(keys=[registration.key for registration in batch], args=args)
    except RedisError:
        # The next rewrite, one interval on, tries again; the registrations
        # last a TTL of 75 s against an interval of 30.
        logger.warning("could not rewrite %d socket registrations", len(batch), exc_info=True)


def _keeper() -> _Keeper:
    loop = asyncio.get_running_loop()
    keeper = _keepers.get(loop)
    if keeper is None:
        keeper = _keepers[loop] = _Keeper()
    return keeper


# One keeper per event loop: its task and Redis connections belong to that loop.
_keepers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Keeper]" = (
    weakref.WeakKeyDictionary()
)
