"""Reads: do-not-disturb hours, delays, defaults."""

from datetime import UTC, datetime, time, timedelta

import pytest

from notifications import selectors
from notifications.models import Preferences


def _prefs(start, end, tz="UTC") -> Preferences:
    return Preferences(dnd_start=start, dnd_end=end, time_zone=tz)


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (datetime(2026, 1, 5, 23, 30, tzinfo=UTC), datetime(2026, 1, 6, 7, 0, tzinfo=UTC)),
        (datetime(2026, 1, 6, 3, 0, tzinfo=UTC), datetime(2026, 1, 6, 7, 0, tzinfo=UTC)),
        (datetime(2026, 1, 6, 7, 0, tzinfo=UTC), None),
        (datetime(2026, 1, 6, 12, 0, tzinfo=UTC), None),
    ],
)
def test_quiet_hours_across_midnight(now, ends) -> None:
    assert selectors.quiet_until(preferences=_prefs(time(22), time(7)), now=now) == ends


def test_quiet_hours_within_a_day_and_in_the_users_time_zone() -> None:
    prefs = _prefs(time(9), time(17), "Europe/Berlin")
    # 10:00 UTC is 11:00 in Berlin in January: quiet until 17:00 Berlin, 16:00 UTC.
    now = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    assert selectors.quiet_until(preferences=prefs, now=now) == datetime(
        2026, 1, 6, 16, 0, tzinfo=UTC
    )
    assert selectors.quiet_until(preferences=prefs, now=now + timedelta(hours=7)) is None


def test_no_quiet_hours_unless_both_ends_differ() -> None:
    now = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
    assert selectors.quiet_until(preferences=_prefs(None, time(7)), now=now) is None
    assert selectors.quiet_until(preferences=_prefs(time(7), time(7)), now=now) is None


def test_the_email_delay_defaults_to_the_setting(settings) -> None:
    settings.NOTIFICATION_EMAIL_DELAY_MINUTES = 12
    assert selectors.email_delay(preferences=Preferences()) == timedelta(minutes=12)
    assert selectors.email_delay(preferences=Preferences(email_delay_minutes=3)) == timedelta(
        minutes=3
    )
