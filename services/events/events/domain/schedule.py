"""Art groups, their events and weekly series: what they are and how they may change.

An event is one registrable occasion with its own id. A series is the rule and the template
of a recurring session; its occurrences are events too, made ahead of time up to a horizon
(see :mod:`events.scheduler`), each keyed by the wall time the rule gave it (its RECURRENCE-ID)
so that an occurrence moved or cancelled is never made a second time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from events.domain.recurrence import Occurrence, Rule
from events.domain.timing import DEFAULT_ZONE
from peerlink.contracts.artevent import CHANGEABLE

MAX_DURATION = timedelta(days=92)  # an exhibition may run for weeks; a session for hours
DEFAULT_HORIZON_WEEKS = 12
MAX_HORIZON_WEEKS = 52


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class InvalidEvent(ValueError):
    """Input that cannot make a valid event; ``field`` is the input at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class EventLocked(Exception):
    """The event is in a state where this is no longer possible (409)."""


@dataclass(frozen=True)
class Group:
    id: uuid.UUID
    name_cy: str
    name_en: str
    usual_venue: str
    accessibility_cy: str | None
    accessibility_en: str | None
    facilitators: tuple[uuid.UUID, ...]
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Details:
    """What an organiser writes about an event (or a series' sessions)."""

    kind: str
    title_cy: str
    title_en: str
    venue: str
    description_cy: str | None = None
    description_en: str | None = None
    capacity: int | None = None
    public: bool = False
    drop_in: bool = False


@dataclass(frozen=True)
class ArtEvent:
    id: uuid.UUID
    group_id: uuid.UUID | None
    series_id: uuid.UUID | None
    occurrence_start: datetime | None  # the rule's start for this occurrence (UTC), even if moved
    details: Details
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    timezone: str
    status: EventStatus
    created_at: datetime
    updated_at: datetime
    places_confirmed: int = 0
    waiting: int | None = 0  # None when not counted (see store.schedule.get_event)
    revision: int = 0  # iCalendar SEQUENCE: one more at every change people should see
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_cancelled(self) -> bool:
        return self.status is EventStatus.CANCELLED

    @property
    def moved(self) -> bool:
        return self.occurrence_start is not None and self.occurrence_start != self.starts_at

    @property
    def places_left(self) -> int | None:
        if self.details.capacity is None:
            return None
        return max(0, self.details.capacity - self.places_confirmed)

    def has_started(self, now: datetime) -> bool:
        return now >= self.starts_at


@dataclass(frozen=True)
class Series:
    id: uuid.UUID
    group_id: uuid.UUID
    details: Details
    rule: Rule
    first_wall: datetime  # naive wall time of the first session, in ``timezone``
    duration: timedelta
    timezone: str
    horizon_weeks: int
    scheduled_until: datetime | None  # occurrences up to here (UTC) have been made
    created_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def due(self, now: datetime) -> list[Occurrence]:
        """Occurrences not yet made that start after ``now`` and within the horizon."""
        if self.ended_at is not None:
            return []
        until = now + timedelta(weeks=self.horizon_weeks)
        after = max(now, self.scheduled_until) if self.scheduled_until else now
        return list(self.rule.occurrences(self.first_wall, self.zone, until=until, after=after))


# Checks -----------------------------------------------------------------------------------


def check_times(starts_at: datetime, ends_at: datetime, now: datetime, *, field: str = "starts_at") -> None:
    if ends_at <= starts_at:
        raise InvalidEvent("The event must end after it starts.", "ends_at")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidEvent(f"An event lasts at most {MAX_DURATION.days} days.", "ends_at")
    if starts_at <= now:
        raise InvalidEvent("The event must start in the future.", field)


def check_details(details: Details) -> None:
    if details.drop_in and details.capacity is not None:
        raise InvalidEvent("A drop-in event takes no registrations, so it has no capacity.", "capacity")


def new_event(
    details: Details,
    *,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str = DEFAULT_ZONE,
    group_id: uuid.UUID | None,
    now: datetime,
    series_id: uuid.UUID | None = None,
    occurrence_start: datetime | None = None,
) -> ArtEvent:
    check_details(details)
    check_times(starts_at, ends_at, now)
    return ArtEvent(
        id=uuid.uuid4(),
        group_id=group_id,
        series_id=series_id,
        occurrence_start=occurrence_start,
        details=details,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=timezone,
        status=EventStatus.SCHEDULED,
        created_at=now,
        updated_at=now,
    )


def occurrence_of(series: Series, occurrence: Occurrence, now: datetime) -> ArtEvent:
    return new_event(
        series.details,
        starts_at=occurrence.starts_at,
        ends_at=occurrence.starts_at + series.duration,
        timezone=series.timezone,
        group_id=series.group_id,
        series_id=series.id,
        occurrence_start=occurrence.starts_at,
        now=now,
    )


# Changes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    event: ArtEvent
    changed: tuple[str, ...]  # in the contract's words (CHANGEABLE); empty if nothing on the wire moved
    capacity_grew: bool = False


_DETAIL_FIELDS = ("title_cy", "title_en", "venue", "description_cy", "description_en", "capacity", "public", "drop_in")


def change(
    event: ArtEvent, updates: dict[str, Any], *, now: datetime, active_registrations: int, active_guests: int = 0
) -> Change:
    """Apply an organiser's changes: nothing once the event has started or was cancelled."""
    if event.is_cancelled:
        raise EventLocked("The event was cancelled; it can no longer be changed.")
    if event.has_started(now):
        raise EventLocked("The event has started; it can no longer be changed.")
    details = replace(event.details, **{k: v for k, v in updates.items() if k in _DETAIL_FIELDS})
    starts_at = updates.get("starts_at", event.starts_at)
    ends_at = updates.get("ends_at", event.ends_at)
    if "starts_at" in updates and "ends_at" not in updates:
        ends_at = starts_at + (event.ends_at - event.starts_at)  # moved: the same length
    if details.drop_in != event.details.drop_in and active_registrations:
        raise EventLocked("The event has registrations; cancel them before making it a drop-in.")
    if event.details.public and not details.public and active_guests:
        raise EventLocked("Public guests are registered; cancel their places before making it participants-only.")
    check_details(details)
    if (starts_at, ends_at) != (event.starts_at, event.ends_at):
        check_times(starts_at, ends_at, now)
    changed = []
    if (details.title_cy, details.title_en) != (event.details.title_cy, event.details.title_en):
        changed.append("title")
    for name, old, new in (
        ("venue", event.details.venue, details.venue),
        ("starts_at", event.starts_at, starts_at),
        ("ends_at", event.ends_at, ends_at),
        ("capacity", event.details.capacity, details.capacity),
        ("public", event.details.public, details.public),
    ):
        if old != new:
            changed.append(name)
    assert set(changed) <= set(CHANGEABLE)
    visible = bool(changed) or details != event.details
    moved = replace(
        event,
        details=details,
        starts_at=starts_at,
        ends_at=ends_at,
        updated_at=now if visible else event.updated_at,
        revision=event.revision + 1 if visible else event.revision,
    )
    before, after = event.details.capacity, details.capacity
    grew = before is not None and (after is None or after > before)
    return Change(moved, tuple(changed), capacity_grew=grew)


def cancel(event: ArtEvent, *, reason: str, now: datetime) -> ArtEvent:
    if event.is_cancelled:
        raise EventLocked("The event is already cancelled.")
    if event.has_started(now):
        raise EventLocked("The event has started; it can no longer be cancelled.")
    return replace(
        event,
        status=EventStatus.CANCELLED,
        cancel_reason=reason,
        cancelled_at=now,
        updated_at=now,
        revision=event.revision + 1,
        places_confirmed=0,
        waiting=0,
    )


def update_group(group: Group, updates: dict[str, Any], now: datetime) -> Group:
    values = dict(updates)
    if "facilitators" in values:
        values["facilitators"] = tuple(dict.fromkeys(values["facilitators"]))
    return replace(group, **values, updated_at=now)
