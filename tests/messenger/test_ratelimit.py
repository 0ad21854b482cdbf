"""The rate limit over the last window, counted in the real Redis.

The clock is set by the test (the limit reads ``time.time()``): what the
limit allows depends on where in its windows each action falls.
"""

import uuid

import pytest

from messenger import ratelimit
from messenger.ratelimit import rate_limit_hit, rate_limit_hit_sync

WINDOW = 10
# A multiple of WINDOW: a window boundary.
BOUNDARY = 1_800_000_000.0


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 0.0
        monkeypatch.setattr(ratelimit.time, "time", lambda: self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def hits(clock: Clock, ident: str, times: list[float], limit: int = 2) -> list[bool]:
    answers = []
    for at in times:
        clock.now = at
        answers.append(
            rate_limit_hit_sync(scope="test", ident=ident, limit=limit, window_seconds=WINDOW)
        )
    return answers


def test_a_burst_across_a_window_boundary_is_limited(clock: Clock) -> None:
    ident = uuid.uuid4().hex
    # 5 ms before the boundary, then 26 and 55 ms after it.
    answers = hits(clock, ident, [BOUNDARY - 0.005, BOUNDARY + 0.026, BOUNDARY + 0.055])
    assert answers == [False, False, True]


def test_the_limit_again_only_as_the_previous_window_slides_out(clock: Clock) -> None:
    ident = uuid.uuid4().hex
    # Two actions at the end of a window...
    assert hits(clock, ident, [BOUNDARY - 0.5, BOUNDARY - 0.4]) == [False, False]
    # ...still fill the last 10 s a quarter into the next one (2 * 0.75 + 1 > 2),
    assert hits(clock, ident, [BOUNDARY + WINDOW / 4]) == [True]
    # a refused attempt counts too, and a window weighs nothing once it is
    # two windows back.
    assert hits(clock, ident, [BOUNDARY + WINDOW, BOUNDARY + WINDOW + 0.1]) == [False, True]
    assert hits(clock, ident, [BOUNDARY + 3 * WINDOW, BOUNDARY + 3 * WINDOW + 0.1]) == [
        False,
        False,
    ]


def test_people_and_scopes_are_counted_apart(clock: Clock) -> None:
    ann, bob = uuid.uuid4().hex, uuid.uuid4().hex
    assert hits(clock, ann, [BOUNDARY + 1, BOUNDARY + 2, BOUNDARY + 3]) == [False, False, True]
    assert hits(clock, bob, [BOUNDARY + 4]) == [False]
    clock.now = BOUNDARY + 5
    assert not rate_limit_hit_sync(scope="other", ident=ann, limit=2, window_seconds=WINDOW)


async def test_the_async_limit_counts_with_the_sync_one(clock: Clock) -> None:
    ident = uuid.uuid4().hex
    clock.now = BOUNDARY - 0.005
    assert not await rate_limit_hit(scope="test", ident=ident, limit=2, window_seconds=WINDOW)
    assert hits(clock, ident, [BOUNDARY + 0.026]) == [False]
    clock.now = BOUNDARY + 0.055
    assert await rate_limit_hit(scope="test", ident=ident, limit=2, window_seconds=WINDOW)
