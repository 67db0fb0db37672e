"""Times of events: stored in UTC, entered and shown as wall-clock times in the event's zone.

A session "at 10:00 every Tuesday" is 10:00 in Europe/London on both sides of a clock change,
so it is 09:00 UTC in summer and 10:00 UTC in winter. A wall time that a clock change skips or
repeats is resolved as RFC 5545 (3.3.5) says for a DATE-TIME with a TZID: a repeated time is its
first occurrence, a skipped time is read with the offset before the gap (01:30 on the morning
the clocks go forward is 02:30 BST).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Europe/London"


class InvalidTime(ValueError):
    """A time or zone the event cannot have; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTime(f"{name!r} is not a time zone (for example {DEFAULT_ZONE}).", field) from None


def from_wall(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall time in ``tz`` as an aware UTC instant, by the rules of RFC 5545 3.3.5."""
    # zoneinfo's fold=0 is exactly that: the first of a repeated time, the earlier offset in a gap.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def exists(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether the clocks in ``tz`` ever show ``wall`` (False inside a spring-forward gap)."""
    return from_wall(wall, tz).astimezone(tz).replace(tzinfo=None) == wall


def instant(value: datetime, tz: ZoneInfo, field: str) -> datetime:
    """A time given by a person: with an offset it is that instant; without, a wall time in
    ``tz``, refused if the clocks skip it (a typing slip is likelier than a 01:30 session)."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    if not exists(value, tz):
        raise InvalidTime(
            f"{value:%H:%M} does not exist on {value:%Y-%m-%d} in {tz.key}: the clocks go forward.", field
        )
    return from_wall(value, tz)


def local(moment: datetime, tz: ZoneInfo | str) -> datetime:
    """An instant as the event's wall clock shows it (aware, with that day's offset)."""
    return moment.astimezone(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))
