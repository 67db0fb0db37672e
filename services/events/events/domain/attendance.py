"""Who came: a confirmed registration attended or did not show, or heads counted at the door.

Attendance is a gentle signal (a missed session may nudge the mentor), never a ban. One record
per registration and one drop-in count per event (people who came without registering, or
everyone at a drop-in session); recording again corrects the record, keeping its id, so the
last ``attendance.recorded`` of an ``attendance_id`` is the truth. ``headcount`` is the number
of people present: those of the registration who came (the mentor too), 0 for a no-show.

A register is often taken by marking who came and leaving the rest: a confirmed registration
still unmarked a while after the end (24 hours by default) is then assumed a no-show, recorded
and announced as one marked by hand would be (``assumed`` says which it was, here only). Only
once someone has taken the register, though (marked at least one registration by hand): an
event whose register nobody took says nothing about who came, and assuming everyone missed it
would send every mentor a false signal. A later mark by hand corrects an assumed no-show like
any correction; the assumption never overrides a mark.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from events.domain.registration import Registration, Status
from events.domain.schedule import ArtEvent

OPENS_BEFORE_START = timedelta(hours=2)
MAX_HEADCOUNT = 10_000
NO_SHOW_AFTER = timedelta(hours=24)  # the default wait after the end before a no-show is assumed
# How far back the assumption reaches: an event that ended longer ago is left as it is (a nudge
# about a session weeks past helps nobody, and turning the feature on must not flood the wire).
NO_SHOW_LOOKBACK = timedelta(days=7)


class AttendanceRefused(Exception):
    """Not possible for this event or registration now (409)."""


class InvalidAttendance(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Attendance:
    id: uuid.UUID
    event_id: uuid.UUID
    registration_id: uuid.UUID | None
    person_id: uuid.UUID | None
    status: str  # attended | no-show | drop-in
    headcount: int
    recorded_at: datetime
    assumed: bool = False  # a no-show assumed by the scheduler, not marked by hand


def check_open(event: ArtEvent, now: datetime) -> None:
    if event.is_cancelled:
        raise AttendanceRefused("The event was cancelled.")
    if now < event.starts_at - OPENS_BEFORE_START:
        raise AttendanceRefused("Attendance can be recorded from two hours before the start.")


def for_registration(
    event: ArtEvent,
    registration: Registration,
    *,
    status: str,
    headcount: int | None,
    earlier: Attendance | None,
    now: datetime,
) -> Attendance:
    check_open(event, now)
    if registration.status is not Status.CONFIRMED:
        raise AttendanceRefused(f"Only a confirmed registration attends; this one is {registration.status}.")
    if status == "no-show":
        if headcount:
            raise InvalidAttendance("A no-show counts nobody: leave headcount out or give 0.", "headcount")
        heads = 0
    elif status == "attended":
        heads = registration.places if headcount is None else headcount
        if not 1 <= heads <= registration.places:
            raise InvalidAttendance(f"From 1 to the registration's {registration.places} places.", "headcount")
    else:
        raise InvalidAttendance("A registration attended or was a no-show.", "status")
    return Attendance(
        id=earlier.id if earlier else uuid.uuid4(),
        event_id=event.id,
        registration_id=registration.id,
        person_id=registration.person_id,
        status=status,
        headcount=heads,
        recorded_at=now,
    )


def drop_in(event: ArtEvent, *, headcount: int, earlier: Attendance | None, now: datetime) -> Attendance:
    check_open(event, now)
    if not 0 <= headcount <= MAX_HEADCOUNT:
        raise InvalidAttendance(f"From 0 to {MAX_HEADCOUNT:,}.", "headcount")
    return Attendance(
        id=earlier.id if earlier else uuid.uuid4(),
        event_id=event.id,
        registration_id=None,
        person_id=None,
        status="drop-in",
        headcount=headcount,
        recorded_at=now,
    )


def assumed_no_shows(
    event: ArtEvent,
    confirmed: Iterable[Registration],
    records: Iterable[Attendance],
    *,
    now: datetime,
    after: timedelta,
) -> list[Attendance]:
    """The no-shows to assume now: each confirmed registration still unmarked ``after`` the end,
    if someone took the register (marked a registration by hand); none otherwise."""
    if event.is_cancelled or now < event.ends_at + after:
        return []
    for_registrations = [a for a in records if a.registration_id is not None]
    if not any(not a.assumed for a in for_registrations):
        return []
    marked = {a.registration_id for a in for_registrations}
    return [
        Attendance(
            id=uuid.uuid4(),
            event_id=event.id,
            registration_id=registration.id,
            person_id=registration.person_id,
            status="no-show",
            headcount=0,
            recorded_at=now,
            assumed=True,
        )
        for registration in confirmed
        if registration.status is Status.CONFIRMED and registration.id not in marked
    ]
