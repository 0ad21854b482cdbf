"""messenger/web_server.py: daphne's scans of every connection, run every few seconds.

The server runs on Twisted's deterministic clock (``twisted.internet.task.Clock``)
in place of the reactor daphne schedules its scans on, so time is stepped,
not waited for.  The scans are daphne's own code; what they do to each
connection is observed through a connection that records when it is looked at.
"""

import gc
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import pairwise

import daphne.server
import pytest
from django.core.exceptions import ImproperlyConfigured
from twisted.internet.task import Clock

from messenger.web_server import FrozenHeap, WebCommandLineInterface, WebServer


class RecordingConnection:
    """A protocol and its application instance that note when a scan reaches them."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.timeout_scans: list[float] = []
        self.application_scans: list[float] = []

    def check_timeouts(self) -> None:
        """Called by daphne's timeout scan on every connection."""
        self.timeout_scans.append(self.clock.seconds())

    def done(self) -> bool:
        """Called by daphne's application scan on every running application instance."""
        self.application_scans.append(self.clock.seconds())
        return False


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(daphne.server, "reactor", clock)
    return clock


@pytest.fixture
def default_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_APPLICATION_CHECK_SECONDS", raising=False)
    monkeypatch.delenv("WEB_TIMEOUT_CHECK_SECONDS", raising=False)


def started(clock: Clock) -> tuple[WebServer, RecordingConnection]:
    """Return a server with one open connection, its scans scheduled as ``Server.run`` does."""
    server = WebServer(application=None, endpoints=["tcp:port=0"])
    connection = RecordingConnection(clock)
    server.connections = {connection: {"connected": 0.0, "application_instance": connection}}
    clock.callLater(1, server.application_checker)
    clock.callLater(2, server.timeout_checker)
    return server, connection


def pending(clock: Clock, checker: Callable[[], None]) -> int:
    return sum(call.func == checker for call in clock.getDelayedCalls())


def run_for(clock: Clock, server: WebServer, seconds: int) -> None:
    """Step the clock half a second at a time; each checker has one call pending throughout."""
    for _ in range(seconds * 2):
        clock.advance(0.5)
        assert pending(clock, server.application_checker) == 1
        assert pending(clock, server.timeout_checker) == 1


def test_each_scan_runs_every_five_seconds_by_default(clock, default_intervals) -> None:
    server, connection = started(clock)
    run_for(clock, server, 22)
    # The first of each comes when daphne starts it (1 s, 2 s), then every 5 s.
    assert connection.application_scans == [1, 6, 11, 16, 21]
    assert connection.timeout_scans == [2, 7, 12, 17, 22]
    assert (server.application_check_seconds, server.timeout_check_seconds) == (5, 5)


@pytest.mark.parametrize(
    ("application", "timeout", "seconds", "application_scans", "timeout_scans"),
    [
        pytest.param("3", "7", 16, [1, 4, 7, 10, 13, 16], [2, 9, 16], id="from-the-environment"),
        # The application scan keeps daphne's pace (1 s) at the shortest; the
        # timeout scan calls itself every half second.
        pytest.param("1", "1", 6, [1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6], id="every-second"),
    ],
)
def test_the_intervals_come_from_the_environment_when_the_server_is_made(
    clock, monkeypatch, application, timeout, seconds, application_scans, timeout_scans
) -> None:
    monkeypatch.setenv("WEB_APPLICATION_CHECK_SECONDS", application)
    monkeypatch.setenv("WEB_TIMEOUT_CHECK_SECONDS", timeout)
    server, connection = started(clock)
    run_for(clock, server, seconds)
    assert connection.application_scans == application_scans
    assert connection.timeout_scans == timeout_scans


def test_a_closed_connection_is_reaped_by_the_next_pass(clock, default_intervals) -> None:
    server, connection = started(clock)
    clock.advance(1)  # the first application pass: only ``connection``
    closed = RecordingConnection(clock)
    server.connections[closed] = {"connected": 0.0, "disconnected": 1.0}
    run_for(clock, server, 4)
    assert closed in server.connections
    run_for(clock, server, 5)  # the next pass, in slices from 6 s to 10 s
    assert closed not in server.connections
    assert connection in server.connections


def test_a_pass_reaches_every_connection_once_a_little_at_a_time(clock, default_intervals) -> None:
    # One scan of 10,000 sockets held the event loop for 30-90 ms.
    server, first = started(clock)
    others = [RecordingConnection(clock) for _ in range(9)]
    for other in others:
        server.connections[other] = {"connected": 0.0, "application_instance": other}
    everyone = [first, *others]
    run_for(clock, server, 22)

    # Each connection once per pass, a pass every 5 s…
    for connection in everyone:
        for scans in (connection.application_scans, connection.timeout_scans):
            assert len(scans) in (4, 5)
            assert all(b - a == 5 for a, b in pairwise(scans))
    # …and each call of a checker takes its share: a fifth of them (it is
    # called every 1 s) for applications, a tenth (every 0.5 s) for timeouts.
    application_calls = Counter(t for c in everyone for t in c.application_scans)
    timeout_calls = Counter(t for c in everyone for t in c.timeout_scans)
    assert set(application_calls.values()) == {2}
    assert set(timeout_calls.values()) == {1}
    assert len(server.connections) == 10


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
@pytest.mark.parametrize("name", ["WEB_APPLICATION_CHECK_SECONDS", "WEB_TIMEOUT_CHECK_SECONDS"])
def test_a_bad_interval_stops_the_server_from_starting(monkeypatch, name, value) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        WebServer(application=None, endpoints=["tcp:port=0"])


def test_the_command_line_runs_this_server() -> None:
    assert WebCommandLineInterface.server_class is WebServer


class SteppedClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frozen_heap() -> Iterator[tuple[FrozenHeap, SteppedClock]]:
    gc.unfreeze()
    clock = SteppedClock()
    policy = FrozenHeap(thaw_seconds=600, clock=clock)
    policy.install()
    yield policy, clock
    policy.uninstall()


def test_a_full_collection_freezes_its_survivors_and_a_young_one_does_not(frozen_heap) -> None:
    gc.collect(0)
    assert gc.get_freeze_count() == 0

    gc.collect()

    assert gc.get_freeze_count() > 0


def test_once_a_thaw_is_due_a_full_collection_unfreezes_everything(frozen_heap) -> None:
    _, clock = frozen_heap
    gc.collect()
    assert gc.get_freeze_count() > 0

    clock.now += 600
    gc.collect()
    assert gc.get_freeze_count() == 0
    # Until the next thaw, full collections freeze again.
    gc.collect()
    assert gc.get_freeze_count() > 0


def test_a_cycle_that_became_garbage_while_frozen_is_freed_after_the_thaw(frozen_heap) -> None:
    _, clock = frozen_heap

    class Node:
        pass

    node = Node()
    node.self = node  # type: ignore[attr-defined]
    alive = weakref.ref(node)
    gc.collect()  # the cycle is alive, so it is frozen
    del node
    gc.collect()
    assert alive() is not None  # frozen garbage is skipped...

    clock.now += 600
    gc.collect()  # ...the thaw unfreezes it...
    gc.collect()  # ...and the next full collection frees it
    assert alive() is None


def test_the_web_server_thaws_every_ten_minutes_unless_told(clock, monkeypatch) -> None:
    assert WebServer(application=None, endpoints=["tcp:port=0"]).frozen_heap.thaw_seconds == 600
    monkeypatch.setenv("WEB_GC_THAW_SECONDS", "120")
    assert WebServer(application=None, endpoints=["tcp:port=0"]).frozen_heap.thaw_seconds == 120
