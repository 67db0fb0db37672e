"""Places at an event: confirmed while they last, then a waiting list, promoted in order.

The rules, in one place:

- A registration is for a participant (``person_id``) or a public guest (``guest_id``), never
  both; a participant may bring their peer mentor on the same registration (``mentor_id``,
  counted in ``places``), so the two are confirmed, waitlisted and promoted together.
- It is confirmed if its places fit in what is left; otherwise it waits. Nobody jumps the
  queue: after every change that frees places, the waiting list is promoted in order, each
  registration that fits taking its places (a party of three that does not fit keeps its
  place at the head while a single who fits behind it is promoted; it goes first as soon as
  three places are free).
- The order is first-time participants first (someone referred in who has never attended an
  event here: DOMAIN.md's priority for a first attendance), then first come, first served.
- One place per person, and per guest, per event: a person who holds a place, as a participant
  or as the mentor booked with one, is not booked again in either role (a mentor with two
  mentees books each mentee on their own, or the mentor once). Registration closes at the
  start, and so do cancellations (after the start, a missing participant is a no-show).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from events.domain.schedule import ArtEvent

MAX_PLACES = 20


class Status(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


ACTIVE = (Status.CONFIRMED, Status.WAITLISTED)


class RegistrationRefused(Exception):
    """The event takes no registration now (409); ``code`` says why, for clients."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class AlreadyRegistered(Exception):
    """Someone on the request already has a place at the event (409): ``person_id`` (None for a
    guest) holds it ``held_as`` participant or mentor, on ``existing``."""

    def __init__(
        self,
        existing: Registration,
        *,
        person_id: uuid.UUID | None = None,
        held_as: str = "participant",
        asked_as: str = "participant",
    ):
        super().__init__(_already(existing, held_as=held_as, asked_as=asked_as, guest=person_id is None))
        self.existing = existing
        self.person_id = person_id
        self.held_as = held_as


def _already(existing: Registration, *, held_as: str, asked_as: str, guest: bool) -> str:
    state = existing.status.value
    if guest:
        return f"This guest is already registered for this event ({state})."
    if asked_as == "participant":
        if held_as == "participant":
            return f"This person is already registered for this event ({state})."
        return (
            f"This person already has a place at this event as the mentor booked with another participant "
            f"({state}): one place each."
        )
    held = "is already registered as a participant" if held_as == "participant" else "already has a place"
    other = "" if held_as == "participant" else " with another participant"
    return f"The mentor {held} at this event{other} ({state}): one place each; book this participant without them."


class InvalidRegistration(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Registration:
    id: uuid.UUID
    event_id: uuid.UUID
    person_id: uuid.UUID | None
    guest_id: uuid.UUID | None
    mentor_id: uuid.UUID | None
    places: int
    status: Status
    priority: bool
    queue_number: int | None  # order of arrival on the waiting list (per event)
    registered_at: datetime
    confirmed_at: datetime | None = None
    waitlisted_at: datetime | None = None
    promoted_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    was: Status | None = None  # the status it was cancelled from
    erased_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def waiting_key(self) -> tuple[bool, int]:
        return (not self.priority, self.queue_number or 0)


@dataclass(frozen=True)
class Registrant:
    person_id: uuid.UUID | None = None
    guest_id: uuid.UUID | None = None
    mentor_id: uuid.UUID | None = None
    places: int = 1
    first_time: bool = False  # a participant who has never attended an event here


def check_registrant(
    event: ArtEvent, *, person_id: uuid.UUID | None, is_guest: bool, mentor_id: uuid.UUID | None, places: int
) -> None:
    if (person_id is None) == (not is_guest):
        raise InvalidRegistration("Give a participant's person_id or a guest, not both.", "person_id")
    if mentor_id is not None and person_id is None:
        raise InvalidRegistration("A mentor is booked with their mentee (a person_id).", "mentor_id")
    if mentor_id is not None and mentor_id == person_id:
        raise InvalidRegistration("The mentor is someone other than the participant.", "mentor_id")
    if mentor_id is not None and places < 2:
        raise InvalidRegistration("Places count the mentor too: at least 2 with a mentor.", "places")
    if not 1 <= places <= MAX_PLACES:
        raise InvalidRegistration(f"From 1 to {MAX_PLACES} places.", "places")
    if is_guest and not event.details.public:
        raise InvalidRegistration("This event is for participants only: guests cannot register.", "guest")


@dataclass(frozen=True)
class PlaceHeld:
    """A person's place at an event, on ``registration``, as its participant or its mentor."""

    person_id: uuid.UUID
    held_as: str  # participant | mentor
    registration: Registration


def check_places_free(person_id: uuid.UUID | None, mentor_id: uuid.UUID | None, held: Iterable[PlaceHeld]) -> None:
    """Refuse a booking that names someone who already holds a place at the event, in either role."""
    held = list(held)
    for asked_as, person in (("participant", person_id), ("mentor", mentor_id)):
        for place in held:
            if person is not None and place.person_id == person:
                raise AlreadyRegistered(place.registration, person_id=person, held_as=place.held_as, asked_as=asked_as)


def check_open(event: ArtEvent, now: datetime) -> None:
    if event.is_cancelled:
        raise RegistrationRefused("The event was cancelled.", "event-cancelled")
    if event.details.drop_in:
        raise RegistrationRefused("This is a drop-in event: no registration needed.", "drop-in")
    if event.has_started(now):
        raise RegistrationRefused("Registration closed when the event started.", "registration-closed")


def fits(event: ArtEvent, places: int) -> bool:
    capacity = event.details.capacity
    return capacity is None or event.places_confirmed + places <= capacity


def new_registration(
    event: ArtEvent, registrant: Registrant, *, now: datetime, queue_number: int | None
) -> Registration:
    """A registration as it is admitted: confirmed if its places fit, else waiting at ``queue_number``."""
    confirmed = queue_number is None
    return Registration(
        id=uuid.uuid4(),
        event_id=event.id,
        person_id=registrant.person_id,
        guest_id=registrant.guest_id,
        mentor_id=registrant.mentor_id,
        places=registrant.places,
        status=Status.CONFIRMED if confirmed else Status.WAITLISTED,
        priority=registrant.first_time and registrant.person_id is not None,
        queue_number=queue_number,
        registered_at=now,
        confirmed_at=now if confirmed else None,
        waitlisted_at=None if confirmed else now,
    )


def position(registration: Registration, waiting: Iterable[Registration]) -> int:
    """1 for the head of the waiting list."""
    mine = registration.waiting_key
    return 1 + sum(1 for other in waiting if other.id != registration.id and other.waiting_key < mine)


def to_promote(event: ArtEvent, waiting: Iterable[Registration]) -> list[Registration]:
    """Who moves up now, in order: each waiting registration whose places fit in what is left."""
    capacity = event.details.capacity
    free = None if capacity is None else capacity - event.places_confirmed
    chosen = []
    for registration in sorted(waiting, key=lambda r: r.waiting_key):
        if free is not None and free <= 0:
            break
        if free is None or registration.places <= free:
            chosen.append(registration)
            if free is not None:
                free -= registration.places
    return chosen


def promote(registration: Registration, now: datetime) -> Registration:
    return replace(registration, status=Status.CONFIRMED, promoted_at=now, confirmed_at=now)


def cancel(registration: Registration, *, reason: str, now: datetime) -> Registration:
    return replace(
        registration,
        status=Status.CANCELLED,
        was=registration.status,
        cancel_reason=reason,
        cancelled_at=now,
    )
