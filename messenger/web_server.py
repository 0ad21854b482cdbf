"""Run the web process: daphne, with its scans of every connection made less often.

``python -m messenger.web_server`` takes daphne's own arguments
(``scripts/web.sh`` passes them).  It differs from the ``daphne`` command in
two things: how often the server walks all of its connections, and how its
garbage collector treats what survives a full collection (below).  daphne runs
two periodic scans over every connection, ``Server.application_checker``
every second (reap finished application instances, log their exceptions)
and ``Server.timeout_checker`` every two seconds (enforce timeouts, send
keepalive pings).  With 10,000 idle sockets those scans were most of the
process's CPU (docs/load-benchmark.md, "Idle sockets"): the first copies
every connection into a fresh list each second, and the garbage collector
then walks the whole heap.  Here they run every
``WEB_APPLICATION_CHECK_SECONDS`` and ``WEB_TIMEOUT_CHECK_SECONDS``
(5 s each by default), and each pass over the connections is cut into
slices, one per call of daphne's chain (every 1 s and 2 s): one scan of
10,000 sockets held the event loop for 30-90 ms, every socket's frames
waiting behind it; a slice holds it for a fifth or a half of that.

What running them less often delays, by up to the interval:

* the keepalive ping of a silent socket (sent 60-65 s after its last frame
  with the default ``--ping-interval`` of 60 s rather than 60-62 s); the
  pong's deadline (``--ping-timeout``) is autobahn's own timer per socket,
  not a scan, so it is unchanged;
* the connect timeout (``--websocket_connect_timeout``, 5 s): daphne's scan
  rejects a socket the application has not accepted after 5 s, which with a
  5 s scan can take up to 10 s; but daphne also hands the same value to
  autobahn as its opening-handshake timeout, a per-socket timer running from
  the TCP connection until the handshake's answer, so such a socket is still
  dropped after 5 s (to autobahn's 0.2 s timer buckets), and the scan is only
  the second line;
* closing a socket (1011), or answering 500 to a request, whose application
  instance raised (daphne finds the failure in the application scan; Django
  answers its own views' errors itself), and cancelling an instance that
  outlives its closed socket by ``--application-close-timeout`` (10 s);
* ``--websocket_timeout`` (a day) and ``--http-timeout`` (off in web.sh).

It also keeps the garbage collector's full collections short
(:class:`FrozenHeap`): with 10,000 sockets, one walked a heap of 500 MiB and
stopped the process for 1.0-1.8 s, every minute or two, every socket's
traffic waiting behind it.
"""

import collections
import gc
import math
import os
import time
from collections.abc import Callable
from typing import Any

import daphne.server
from daphne.cli import CommandLineInterface
from django.core.exceptions import ImproperlyConfigured

from messenger.settings.environment import env_int


def interval_seconds(name: str, default: int = 5) -> int:
    """Return an interval in whole seconds from the environment."""
    seconds = env_int(name, default)
    if seconds < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1 second, got {os.environ[name]!r}")
    return seconds


OLDEST_GENERATION = 2  # CPython's collector has generations 0, 1 and 2
# How often daphne's own scans call themselves again.
DAPHNE_APPLICATION_CHECK_SECONDS = 1
# How often this server's timeout scan calls itself again.
TIMEOUT_SLICE_SECONDS = 0.5


class FrozenHeap:
    """Freeze what survives a full garbage collection, so the next ones walk only what is newer.

    CPython's cyclic collector walks every tracked object in a full
    collection, and it runs one whenever the objects that survived younger
    collections reach a quarter of the old ones.  A web process's old
    objects are mostly its sockets' (daphne's, autobahn's and channels'
    objects per connection), so each full collection costs time in
    proportion to the sockets held, and all of them wait.  After each full
    collection the survivors are moved to the permanent generation
    (``gc.freeze``), which collections skip: the next full collection walks
    only objects made since.  Objects that become garbage while frozen are
    freed as usual when nothing refers to them; only garbage *cycles* among
    them (a closed socket's objects) wait: every ``thaw_seconds`` everything
    is unfrozen instead, so the next full collection walks, and frees, all
    of it once.
    """

    def __init__(self, *, thaw_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.thaw_seconds = thaw_seconds
        self.clock = clock
        self.thaw_due = clock() + thaw_seconds

    def install(self) -> None:
        """Start freezing after every full collection of this process."""
        gc.callbacks.append(self.collected)

    def uninstall(self) -> None:
        """Stop freezing, and unfreeze what was frozen."""
        gc.callbacks.remove(self.collected)
        gc.unfreeze()

    def collected(self, phase: str, info: dict[str, Any]) -> None:
        """Freeze the survivors of a full collection, or unfreeze everything when a thaw is due."""
        if phase != "stop" or info["generation"] != OLDEST_GENERATION:
            return
        if self.clock() >= self.thaw_due:
            gc.unfreeze()
            self.thaw_due = self.clock() + self.thaw_seconds
        else:
            gc.freeze()


class WebServer(daphne.server.Server):
    """daphne's server, scanning its connections every few seconds instead of every one or two.

    Each checker keeps daphne's own chain of calls: ``Server.run`` schedules
    the first call of each, and each of daphne's scans schedules the next
    one 1 s (application) or 2 s (timeouts) later.  An override that is
    called before its scan is due schedules itself for when it is due and
    returns; one that is due calls daphne's scan, which schedules the next
    call as it always does.  Every call therefore leaves exactly one pending
    call of its checker, so the chains never multiply, and daphne's scan
    code runs unchanged.  An interval shorter than daphne's own period
    changes nothing: the scan then runs at daphne's pace.

    Time is the reactor's clock (``reactor.seconds()``), the one its delayed
    calls are measured in, so a call scheduled for when a scan is due finds
    it due.  The reactor is looked up on ``daphne.server`` at each call: the
    one daphne installed and schedules its own calls on.
    """

    # daphne's: each open connection's protocol, and its details.
    connections: dict[Any, dict[str, Any]]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.application_check_seconds = interval_seconds("WEB_APPLICATION_CHECK_SECONDS")
        self.timeout_check_seconds = interval_seconds("WEB_TIMEOUT_CHECK_SECONDS")
        # When each checker's next scan is due, by name; the first call of
        # each (1 s and 2 s after start) scans.
        self.scans_due: dict[str, float] = {}
        # The connections each checker's current pass has yet to reach, and
        # how many each of its calls takes.
        self.scan_passes: dict[str, collections.deque[object]] = {}
        self.scan_slices: dict[str, int] = {}
        self.frozen_heap = FrozenHeap(thaw_seconds=interval_seconds("WEB_GC_THAW_SECONDS", 600))

    def run(self) -> None:
        """Serve until stopped, freezing the heap after each full collection."""
        self.frozen_heap.install()
        super().run()

    def application_checker(self) -> None:
        """Reap finished application instances: each connection once per interval."""
        name = self.application_checker.__name__
        if not self.scan_passes.get(name):
            if not self.scan_due(self.application_checker, self.application_check_seconds):
                return
            self.pass_start(name, self.application_check_seconds, DAPHNE_APPLICATION_CHECK_SECONDS)
        self.scan_only(self.slice_take(name), super().application_checker)

    def timeout_checker(self) -> None:
        """Enforce timeouts and send keepalive pings: each connection once per interval.

        daphne's scan is two lines, its loop over ``check_timeouts`` and its
        next call 2 s later; this one calls itself every
        ``TIMEOUT_SLICE_SECONDS``, so its slices are small.
        """
        name = self.timeout_checker.__name__
        reactor = daphne.server.reactor
        if not self.scan_passes.get(name) and reactor.seconds() >= self.scans_due.get(name, 0.0):
            self.scans_due[name] = reactor.seconds() + self.timeout_check_seconds
            self.pass_start(name, self.timeout_check_seconds, TIMEOUT_SLICE_SECONDS)
        for protocol in self.slice_take(name):
            if protocol in self.connections:
                protocol.check_timeouts()
        reactor.callLater(TIMEOUT_SLICE_SECONDS, self.timeout_checker)

    def pass_start(self, name: str, interval: int, period: float) -> None:
        """Start a pass of a checker over every connection, in slices of one call each.

        One call comes every ``period``; a pass ends before the next is due.
        With 10,000 sockets, one scan of all of them held the event loop for
        30-90 ms, and every socket's frames waited behind it.
        """
        remaining = self.scan_passes[name] = collections.deque(self.connections)
        calls = max(1, int(interval // period))
        self.scan_slices[name] = max(1, math.ceil(len(remaining) / calls))

    def slice_take(self, name: str) -> list[Any]:
        """Return the connections this call of a checker scans."""
        remaining = self.scan_passes.get(name) or collections.deque()
        return [
            remaining.popleft() for _ in range(min(self.scan_slices.get(name, 0), len(remaining)))
        ]

    def scan_only(self, protocols: list[object], scan: Callable[[], None]) -> None:
        """Run a daphne scan as if the server had only these connections.

        The scan sees a dict of just these (their details are the same
        objects, so what it records in them stays); the ones it removed are
        then removed from the server's.  It also schedules the checker's
        next call, as daphne's scans always do.
        """
        everyone = self.connections
        self.connections = {p: everyone[p] for p in protocols if p in everyone}
        part = self.connections
        try:
            scan()
        finally:
            self.connections = everyone
            for protocol in protocols:
                if protocol in everyone and protocol not in part:
                    del everyone[protocol]

    def scan_due(self, checker: Callable[[], None], interval: int) -> bool:
        """Return whether the checker should scan now; if not, call it again when it should.

        When it should, its next scan is due an interval from now (daphne's
        scan schedules the next call itself).
        """
        reactor = daphne.server.reactor
        now = reactor.seconds()
        due = self.scans_due.get(checker.__name__, 0.0)
        if now < due:
            reactor.callLater(due - now, checker)
            return False
        self.scans_due[checker.__name__] = now + interval
        return True


class WebCommandLineInterface(CommandLineInterface):
    """daphne's command line, running :class:`WebServer`."""

    server_class = WebServer


def main() -> None:
    """Run the web server with daphne's command-line arguments."""
    WebCommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
