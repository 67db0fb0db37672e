"""Who we write to, what they agreed to and what they chose.

Two sources, kept apart. *Consent* (which channels someone agreed to, and whether it is safe to
text them) comes with their contact details from the service that holds their record, on
``peerlink.private``. *Preferences* (``PUT /people/{id}/preferences``) are what they asked of
us: which of those channels to use, a language, quiet hours, kinds of message they do not want,
and for coordinators a daily digest. A preference can narrow consent, never widen it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

AUDIENCES = ("person", "mentor", "guest", "coordinator")
DIGEST_CHOICES = ("each", "daily")


@dataclass(frozen=True)
class Recipient:
    recipient_id: str
    audience: str
    given_name: str | None
    email: str | None
    phone: str | None
    preferred_language: str | None
    channels: tuple[str, ...]  # what they consented to: email, sms, phone, post
    safe_to_text: bool
    sms_stopped: bool = False  # they texted STOP
    erased: bool = False


class InvalidQuietHours(ValueError):
    pass


_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_clock(value: str) -> time:
    match = _CLOCK.match(value.strip())
    if not match:
        raise InvalidQuietHours(f"{value!r} is not a time of day such as 21:00")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class QuietHours:
    """A daily window (site time) in which nothing is sent; it may run past midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise InvalidQuietHours("quiet hours must start and end at different times")

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:00-08:00"``."""
        start, sep, end = text.partition("-")
        if not sep:
            raise InvalidQuietHours(f"{text!r} is not a window such as 21:00-08:00")
        return cls(parse_clock(start), parse_clock(end))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """When the window ``moment`` falls in ends (None if it falls in none), as an aware datetime."""
        local = moment.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return None
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day = day + timedelta(days=1)  # a window past midnight ends tomorrow
        # Built on the wall clock, so a window across a clock change still ends at its hour.
        return datetime.combine(day, self.end, tzinfo=zone)


@dataclass(frozen=True)
class Preferences:
    channels: tuple[str, ...] | None = None  # None: every channel they consented to
    language: str | None = None  # None: as their contact details say
    quiet_hours: QuietHours | None = None
    opt_out: frozenset[str] = field(default_factory=frozenset)
    digest: str = "each"

    def language_for(self, recipient: Recipient) -> str | None:
        return self.language or recipient.preferred_language


NO_PREFERENCES = Preferences()


def languages_for(recipient: Recipient, preferences: Preferences) -> tuple[str, ...]:
    """The Welsh Language Standards: Welsh to who prefers Welsh, English to who prefers English,
    and both, Welsh first, when the preference is not known."""
    language = preferences.language_for(recipient)
    if language in ("cy", "en"):
        return (language,)
    return ("cy", "en")
