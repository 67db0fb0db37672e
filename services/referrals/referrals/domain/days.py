"""The site's days: every calendar day referrals speaks of is a day where the site is.

Moments are stored in UTC; a day is not. A referral received, accepted or matched at 00:30 in
Wales in summer is 23:30 the day before in UTC, so a UTC day would put it in the wrong cohort,
count a wait one day short and refuse someone on their sixteenth birthday. Whatever names a day
(today, the day something happened, the days between two moments, the moments a range of days
covers) comes from here, in the site's zone (``PEERLINK_TIMEZONE``). Lengths of time that are
not calendar days (days to triage as a fraction, two weeks overdue, the days in an event sent
to the central office) stay plain durations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo


def day_of(moment: datetime, zone: tzinfo) -> date:
    """The calendar day at the site when ``moment`` happened."""
    return moment.astimezone(zone).date()


def start_of(day: date, zone: tzinfo) -> datetime:
    """The moment the site's ``day`` begins (in UTC, as moments are stored)."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def days_between(earlier: datetime, later: datetime, zone: tzinfo) -> int:
    """Calendar days at the site from one moment to another: accepted at 23:30, one day waiting
    at 00:30, as a person counts the days (not 24-hour periods)."""
    return (day_of(later, zone) - day_of(earlier, zone)).days


def covering(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The moments ``[since, until)`` of the site's days ``first`` to ``last``, both included."""
    return start_of(first, zone), start_of(last + timedelta(days=1), zone)
