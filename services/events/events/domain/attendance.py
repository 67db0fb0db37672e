"""Who came: a confirmed registration attended or did not show, or heads counted at the door.

Attendance is a gentle signal (a missed session may nudge the mentor), never a ban. One record
per registration and one drop-in count per event (people who came without registering, or
everyone at a drop-in session); recording again corrects the record, keeping its id, so the
last ``attendance.recorded`` of an ``attendance_id`` is the truth. ``headcount`` is the number
of people present: those of the registration who came (the mentor too), 0 for a no-show.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from events.domain.registration import Registration, Status
from events.domain.schedule import ArtEvent

OPENS_BEFORE_START = timedelta(hours=2)
MAX_HEADCOUNT = 10_000


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
