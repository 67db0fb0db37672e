"""Recurring sessions: an RFC 5545 RRULE read by python-dateutil, expanded in wall-clock time.

The rule runs on the series' first start as a wall time in its zone (``DTSTART;TZID=...``),
so every occurrence keeps the local time of day across clock changes; each wall time is then
made an instant by :func:`timing.from_wall`. Only what a group's calendar needs is accepted:
DAILY, WEEKLY or MONTHLY, at the time of day of the first session.

dateutil searches up to the year 9999 for a rule that never matches (``BYMONTH=2;BYMONTHDAY=30``
takes seconds of CPU), and checks UNTIL only against dates it found: so the parts that can make
a rule empty are checked here before dateutil sees it (days that no month has, a BYSETPOS
beyond its set), and every expansion is bounded by an UNTIL of our own, COUNT applied here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from events.domain.timing import from_wall

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "WKST")
MAX_COUNT = 520  # ten years of weekly sessions
MAX_INTERVAL = 52
FIRST_WITHIN = timedelta(days=366)
_VALUE = re.compile(r"^[A-Z0-9,+\-]+$")
_UNTIL = re.compile(r"^(\d{8})(T(\d{6})(Z?))?$")


class InvalidRule(ValueError):
    field = "rrule"


@dataclass(frozen=True)
class Occurrence:
    wall: datetime  # naive, in the series' zone: the RECURRENCE-ID of the occurrence
    starts_at: datetime  # aware UTC


@dataclass(frozen=True)
class Rule:
    """A validated rule: ``text`` is its normal form (UNTIL in UTC, as RFC 5545 wants with a TZID)."""

    parts: tuple[tuple[str, str], ...]
    until: datetime | None  # aware UTC, inclusive
    count: int | None

    @property
    def text(self) -> str:
        return ";".join(f"{key}={value}" for key, value in self.parts)

    def occurrences(
        self, first: datetime, tz: ZoneInfo, *, until: datetime, after: datetime | None = None
    ) -> Iterator[Occurrence]:
        """Occurrences of the series starting at wall time ``first`` whose start is after ``after``
        (exclusive) and not after ``until`` (inclusive); instants are aware UTC."""
        end = until if self.until is None else min(until, self.until)
        # One day's slack: the bound is a wall time, and a wall time is up to a day from UTC.
        bound = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
        text = ";".join(f"{k}={v}" for k, v in self.parts if k not in ("COUNT", "UNTIL"))
        expanded: rrule = rrulestr(f"{text};UNTIL={bound:%Y%m%dT%H%M%S}", dtstart=first)  # type: ignore[assignment]
        for index, wall in enumerate(expanded):
            if self.count is not None and index >= self.count:
                return
            starts_at = from_wall(wall, tz)
            if starts_at > end:
                return
            if after is None or starts_at > after:
                yield Occurrence(wall, starts_at)


def parse_rule(text: str, first: datetime, tz: ZoneInfo) -> Rule:
    """Read an RRULE value (``FREQ=WEEKLY;BYDAY=TU``, optionally prefixed ``RRULE:``) for a
    series whose first session is at wall time ``first`` in ``tz``."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or "\r" in body:
        raise InvalidRule("Give one RRULE, such as FREQ=WEEKLY;BYDAY=TU.")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        key, sep, value = item.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not value or not _VALUE.match(value):
            raise InvalidRule(f"{item!r} is not a NAME=VALUE part of an RRULE.")
        if key not in PARTS:
            raise InvalidRule(f"{key} is not supported here (use {', '.join(PARTS)}).")
        if key in parts:
            raise InvalidRule(f"{key} is given twice.")
        parts[key] = value
    if parts.get("FREQ") not in FREQUENCIES:
        raise InvalidRule(f"FREQ must be one of {', '.join(FREQUENCIES)}.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidRule("COUNT and UNTIL cannot both be given (RFC 5545).")
    count = _bounded_int(parts, "COUNT", 1, MAX_COUNT)
    _bounded_int(parts, "INTERVAL", 1, MAX_INTERVAL)
    _check_satisfiable(parts)
    until = _until(parts["UNTIL"], tz) if "UNTIL" in parts else None
    if until is not None:
        if until < from_wall(first, tz):
            raise InvalidRule("UNTIL is before the first session.")
        parts["UNTIL"] = f"{until:%Y%m%dT%H%M%SZ}"
    rule = Rule(tuple(parts.items()), until, count)
    try:
        first_one = next(rule.occurrences(first, tz, until=from_wall(first, tz) + FIRST_WITHIN), None)
    except ValueError as exc:  # dateutil's own refusal (BYDAY=XX, BYMONTH=13 ...)
        raise InvalidRule(f"Not a valid rule: {exc}.") from None
    if first_one is None:
        raise InvalidRule("This rule gives no session within a year of the first one.")
    return rule


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February as in a leap year
_WEEKDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


def _numbers(parts: dict[str, str], key: str, low: int, high: int, *, negative: bool = True) -> list[int]:
    values = []
    for item in parts[key].split(",") if key in parts else []:
        number = int(item) if re.fullmatch(r"[+-]?\d{1,3}", item) else 0
        if not low <= abs(number) <= high or (number < 0 and not negative):
            allowed = f"from {low} to {high}" + (f" or -{high} to -{low}" if negative else "")
            raise InvalidRule(f"{key}={parts[key]}: each value must be {allowed}.")
        values.append(number)
    return values


def _check_satisfiable(parts: dict[str, str]) -> None:
    """Refuse what could make the rule match nothing, before dateutil searches forever."""
    frequency = parts["FREQ"]
    months = _numbers(parts, "BYMONTH", 1, 12, negative=False)
    days = _numbers(parts, "BYMONTHDAY", 1, 31)
    if days and frequency == "WEEKLY":
        raise InvalidRule("BYMONTHDAY cannot be used with FREQ=WEEKLY (RFC 5545).")
    weekdays = parts["BYDAY"].split(",") if "BYDAY" in parts else []
    for weekday in weekdays:
        match = _WEEKDAY.match(weekday)
        if not match:
            raise InvalidRule(f"BYDAY={parts['BYDAY']}: {weekday!r} is not a day such as TU, 1MO or -1FR.")
        if match.group(1) is not None:
            if frequency != "MONTHLY":
                raise InvalidRule("A numbered BYDAY (such as 1MO) needs FREQ=MONTHLY.")
            if not 1 <= abs(int(match.group(1))) <= 5:
                raise InvalidRule(f"BYDAY={weekday}: a month has at most five of each day.")
    if days and not any(
        1 <= day <= _MONTH_DAYS[month - 1] or -_MONTH_DAYS[month - 1] <= day <= -1
        for month in months or range(1, 13)
        for day in days
    ):
        raise InvalidRule("No month has those days (BYMONTH with BYMONTHDAY).")
    positions = _numbers(parts, "BYSETPOS", 1, 366)
    if positions:
        plain_days = [w for w in weekdays if _WEEKDAY.match(w) and _WEEKDAY.match(w).group(1) is None]  # type: ignore[union-attr]
        if frequency != "MONTHLY" or days or not plain_days or len(plain_days) != len(weekdays):
            raise InvalidRule("BYSETPOS is supported with FREQ=MONTHLY and days such as BYDAY=MO,TU only.")
        if any(abs(p) > 4 * len(plain_days) for p in positions):
            raise InvalidRule(f"BYSETPOS is beyond the {4 * len(plain_days)} days every month has.")


def _bounded_int(parts: dict[str, str], key: str, low: int, high: int) -> int | None:
    if key not in parts:
        return None
    if not parts[key].isdigit() or not low <= int(parts[key]) <= high:
        raise InvalidRule(f"{key} must be a whole number from {low} to {high}.")
    return int(parts[key])


def _until(value: str, tz: ZoneInfo) -> datetime:
    """UNTIL as an aware UTC instant: a UTC time as given; a local time or a date (the whole
    day, inclusive) in the series' zone."""
    match = _UNTIL.match(value)
    if not match:
        raise InvalidRule("UNTIL must be a date (20271231) or a date and time (20271231T235959Z).")
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d")
        if match.group(2) is None:
            return from_wall(datetime.combine(day.date(), time(23, 59, 59)), tz)
        moment = datetime.strptime(match.group(1) + match.group(3), "%Y%m%d%H%M%S")
    except ValueError:
        raise InvalidRule(f"UNTIL={value} is not a real date.") from None
    return moment.replace(tzinfo=UTC) if match.group(4) else from_wall(moment, tz)
