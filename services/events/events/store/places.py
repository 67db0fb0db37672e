"""Guests, registrations and attendance: rows to domain objects and back.

A partial unique index refuses a second active registration of one person or guest for one
event, and ``places_held`` (one row per person per event, kept with the registrations here)
refuses a person a second place whether they would hold it as the participant or as the mentor
booked with one, whatever the code above it does; the waiting list's order and positions are
counted by the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from events.domain.attendance import Attendance
from events.domain.guests import Guest
from events.domain.registration import ACTIVE, PlaceHeld, Registration, Status
from events.store._query import one
from events.store.tables import (
    attendance,
    events,
    guests,
    participants,
    places_held,
    registrations,
)
from peerlink.db import insert_for

# Guests ----------------------------------------------------------------------------------


def guest_by_email(conn: Connection, key: str, *, for_update: bool = False) -> Guest | None:
    row = one(conn, sa.select(guests).where(guests.c.email_key == key), for_update)
    return _guest(row) if row else None


def get_guest(conn: Connection, guest_id: uuid.UUID, *, for_update: bool = False) -> Guest | None:
    row = one(conn, sa.select(guests).where(guests.c.id == guest_id), for_update)
    return _guest(row) if row else None


def guests_by_id(conn: Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Guest]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {row.id: _guest(row) for row in conn.execute(sa.select(guests).where(guests.c.id.in_(wanted)))}


def add_guest(conn: Connection, guest: Guest) -> None:
    conn.execute(guests.insert().values(id=guest.id, created_at=guest.created_at, **_guest_values(guest)))


def save_guest(conn: Connection, guest: Guest) -> None:
    conn.execute(guests.update().where(guests.c.id == guest.id).values(**_guest_values(guest)))


def _guest_values(guest: Guest) -> dict[str, Any]:
    return {
        "given_name": guest.given_name,
        "family_name": guest.family_name,
        "email": guest.email,
        "email_key": guest.email_key,
        "phone": guest.phone,
        "preferred_language": guest.preferred_language,
        "channels": list(guest.channels),
        "updated_at": guest.updated_at,
        "erased_at": guest.erased_at,
    }


def guests_to_forget(conn: Connection, before: datetime, limit: int = 200) -> list[uuid.UUID]:
    """Guests not yet erased whose every event ended before ``before`` (and who registered
    before it, so a guest who just registered is never among them)."""
    latest = (
        sa.select(registrations.c.guest_id, sa.func.max(events.c.ends_at).label("last_end"))
        .join(events, events.c.id == registrations.c.event_id)
        .where(registrations.c.guest_id.is_not(None))
        .group_by(registrations.c.guest_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(guests.c.id)
        .outerjoin(latest, latest.c.guest_id == guests.c.id)
        .where(
            guests.c.erased_at.is_(None),
            guests.c.updated_at < before,
            sa.or_(latest.c.last_end.is_(None), latest.c.last_end < before),
        )
        .order_by(guests.c.updated_at)
        .limit(limit)
    )
    return [row.id for row in rows]


def _guest(row: Any) -> Guest:
    return Guest(
        id=row.id,
        given_name=row.given_name,
        family_name=row.family_name,
        email=row.email,
        phone=row.phone,
        preferred_language=row.preferred_language,
        channels=tuple(row.channels),
        created_at=row.created_at,
        updated_at=row.updated_at,
        erased_at=row.erased_at,
    )


# Registrations ---------------------------------------------------------------------------


def add_registration(
    conn: Connection, registration: Registration, *, idempotency: tuple[str, str] | None = None
) -> None:
    key, fingerprint = idempotency or (None, None)
    conn.execute(
        registrations.insert().values(
            id=registration.id,
            event_id=registration.event_id,
            registered_at=registration.registered_at,
            idempotency_key=key,
            request_fingerprint=fingerprint,
            **_registration_values(registration),
        )
    )
    held = [
        {"event_id": registration.event_id, "person_id": person, "registration_id": registration.id, "held_as": role}
        for person, role in _people_on(registration)
    ]
    if held:  # a guest's registration names nobody by person id
        conn.execute(places_held.insert(), held)


def save_registration(conn: Connection, registration: Registration) -> None:
    """Save it; a place it no longer gives someone (cancelled, or their id erased) is let go.
    A place is only ever taken by :func:`add_registration`, never here."""
    conn.execute(
        registrations.update().where(registrations.c.id == registration.id).values(**_registration_values(registration))
    )
    still = [person for person, _ in _people_on(registration)] if registration.is_active else []
    conn.execute(
        places_held.delete().where(
            places_held.c.registration_id == registration.id, places_held.c.person_id.not_in(still)
        )
    )


def _people_on(registration: Registration) -> list[tuple[uuid.UUID, str]]:
    named = ((registration.person_id, "participant"), (registration.mentor_id, "mentor"))
    return [(person, role) for person, role in named if person is not None]


def places_held_by(conn: Connection, event_id: uuid.UUID, people: Iterable[uuid.UUID | None]) -> list[PlaceHeld]:
    """The places these people already hold at the event, as participants or as mentors: read
    from the active registrations themselves (one indexed query), which ``places_held`` mirrors
    to refuse a second place in the database."""
    wanted = {p for p in people if p is not None}
    if not wanted:
        return []
    rows = conn.execute(
        sa.select(registrations).where(
            registrations.c.event_id == event_id,
            registrations.c.status.in_([s.value for s in ACTIVE]),
            sa.or_(registrations.c.person_id.in_(wanted), registrations.c.mentor_id.in_(wanted)),
        )
    )
    held = []
    for row in rows:
        registration = _registration(row)
        held += [PlaceHeld(p, role, registration) for p, role in _people_on(registration) if p in wanted]
    return held


def _registration_values(registration: Registration) -> dict[str, Any]:
    return {
        "person_id": registration.person_id,
        "guest_id": registration.guest_id,
        "mentor_id": registration.mentor_id,
        "places": registration.places,
        "status": registration.status.value,
        "priority": registration.priority,
        "queue_number": registration.queue_number,
        "confirmed_at": registration.confirmed_at,
        "waitlisted_at": registration.waitlisted_at,
        "promoted_at": registration.promoted_at,
        "cancelled_at": registration.cancelled_at,
        "cancel_reason": registration.cancel_reason,
        "was": registration.was.value if registration.was else None,
        "erased_at": registration.erased_at,
    }


def get_registration(conn: Connection, registration_id: uuid.UUID) -> Registration | None:
    row = one(conn, sa.select(registrations).where(registrations.c.id == registration_id))
    return _registration(row) if row else None


def guest_of_registration(conn: Connection, registration_id: uuid.UUID | None) -> uuid.UUID | None:
    """The public guest a registration is for; None for a participant's, or for no registration."""
    if registration_id is None:
        return None
    query = sa.select(registrations.c.guest_id).where(registrations.c.id == registration_id)
    found: uuid.UUID | None = conn.execute(query).scalar_one_or_none()
    return found


def registration_for_key(conn: Connection, key: str) -> tuple[Registration, str] | None:
    row = one(conn, sa.select(registrations).where(registrations.c.idempotency_key == key))
    return (_registration(row), row.request_fingerprint) if row else None


def active_registration(
    conn: Connection, event_id: uuid.UUID, *, person_id: uuid.UUID | None = None, guest_id: uuid.UUID | None = None
) -> Registration | None:
    who = registrations.c.person_id == person_id if person_id else registrations.c.guest_id == guest_id
    row = one(
        conn,
        sa.select(registrations).where(
            registrations.c.event_id == event_id, who, registrations.c.status.in_([s.value for s in ACTIVE])
        ),
    )
    return _registration(row) if row else None


def waiting_list(conn: Connection, event_id: uuid.UUID) -> list[Registration]:
    """The event's waiting list in order: first-time participants first, then by arrival."""
    rows = conn.execute(
        sa.select(registrations)
        .where(registrations.c.event_id == event_id, registrations.c.status == Status.WAITLISTED.value)
        .order_by(registrations.c.priority.desc(), registrations.c.queue_number)
    )
    return [_registration(row) for row in rows]


def position_of(conn: Connection, registration: Registration) -> int:
    """Where a waiting registration stands (1 = next), counted by the database."""
    # "= true", not "IS TRUE": only the first can be read from the index.
    same_rank = sa.and_(
        registrations.c.priority == (sa.true() if registration.priority else sa.false()),
        registrations.c.queue_number < (registration.queue_number or 0),
    )
    ahead = same_rank if registration.priority else sa.or_(registrations.c.priority == sa.true(), same_rank)
    count = conn.execute(
        sa.select(sa.func.count()).where(
            registrations.c.event_id == registration.event_id,
            registrations.c.status == Status.WAITLISTED.value,
            ahead,
        )
    ).scalar_one()
    return int(count) + 1


def active_registrations(conn: Connection, event_id: uuid.UUID) -> list[Registration]:
    rows = conn.execute(
        sa.select(registrations)
        .where(registrations.c.event_id == event_id, registrations.c.status.in_([s.value for s in ACTIVE]))
        .order_by(registrations.c.registered_at, registrations.c.id)
    )
    return [_registration(row) for row in rows]


def registrations_of_event(conn: Connection, event_id: uuid.UUID, status: str | None = None) -> list[Registration]:
    query = sa.select(registrations).where(registrations.c.event_id == event_id)
    if status is not None:
        query = query.where(registrations.c.status == status)
    rows = conn.execute(query.order_by(registrations.c.registered_at, registrations.c.id))
    return [_registration(row) for row in rows]


def registrations_of(
    conn: Connection, *, person_id: uuid.UUID | None = None, guest_id: uuid.UUID | None = None
) -> list[Registration]:
    """Every registration naming this person (as the participant or as the mentor) or guest."""
    if person_id is not None:
        who = sa.or_(registrations.c.person_id == person_id, registrations.c.mentor_id == person_id)
    else:
        who = registrations.c.guest_id == guest_id
    rows = conn.execute(sa.select(registrations).where(who).order_by(registrations.c.registered_at))
    return [_registration(row) for row in rows]


def has_attended(conn: Connection, person_id: uuid.UUID) -> bool:
    found = conn.execute(
        sa.select(attendance.c.id)
        .where(attendance.c.person_id == person_id, attendance.c.status == "attended")
        .limit(1)
    ).first()
    return found is not None


def _registration(row: Any) -> Registration:
    return Registration(
        id=row.id,
        event_id=row.event_id,
        person_id=row.person_id,
        guest_id=row.guest_id,
        mentor_id=row.mentor_id,
        places=row.places,
        status=Status(row.status),
        priority=row.priority,
        queue_number=row.queue_number,
        registered_at=row.registered_at,
        confirmed_at=row.confirmed_at,
        waitlisted_at=row.waitlisted_at,
        promoted_at=row.promoted_at,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
        was=Status(row.was) if row.was else None,
        erased_at=row.erased_at,
    )


# Attendance ------------------------------------------------------------------------------


def attendance_of_registration(conn: Connection, registration_id: uuid.UUID) -> Attendance | None:
    row = one(conn, sa.select(attendance).where(attendance.c.registration_id == registration_id))
    return _attendance(row) if row else None


def drop_in_of_event(conn: Connection, event_id: uuid.UUID) -> Attendance | None:
    row = one(conn, sa.select(attendance).where(attendance.c.event_id == event_id, attendance.c.status == "drop-in"))
    return _attendance(row) if row else None


def attendance_of_event(conn: Connection, event_id: uuid.UUID) -> list[Attendance]:
    rows = conn.execute(
        sa.select(attendance).where(attendance.c.event_id == event_id).order_by(attendance.c.recorded_at)
    )
    return [_attendance(row) for row in rows]


def forget_person_in_attendance(conn: Connection, person_id: uuid.UUID) -> None:
    conn.execute(attendance.update().where(attendance.c.person_id == person_id).values(person_id=None))


def save_attendance(conn: Connection, record: Attendance, *, new: bool) -> None:
    values = {
        "person_id": record.person_id,
        "status": record.status,
        "headcount": record.headcount,
        "recorded_at": record.recorded_at,
        "assumed": record.assumed,
    }
    if new:
        conn.execute(
            attendance.insert().values(
                id=record.id, event_id=record.event_id, registration_id=record.registration_id, **values
            )
        )
    else:
        conn.execute(attendance.update().where(attendance.c.id == record.id).values(**values))


def _attendance(row: Any) -> Attendance:
    return Attendance(
        id=row.id,
        event_id=row.event_id,
        registration_id=row.registration_id,
        person_id=row.person_id,
        status=row.status,
        headcount=row.headcount,
        recorded_at=row.recorded_at,
        assumed=row.assumed,
    )


def events_with_registers_to_complete(
    conn: Connection, *, ended_from: datetime, ended_before: datetime, limit: int = 200
) -> list[uuid.UUID]:
    """Events that ended in ``[ended_from, ended_before)``, not cancelled, whose register someone
    took (a registration marked by hand) and left a confirmed registration unmarked."""
    by_hand = attendance.alias("by_hand")
    any_mark = attendance.alias("any_mark")
    register_taken = sa.exists().where(
        by_hand.c.event_id == events.c.id, by_hand.c.registration_id.is_not(None), by_hand.c.assumed.is_(False)
    )
    left_unmarked = sa.exists().where(
        registrations.c.event_id == events.c.id,
        registrations.c.status == Status.CONFIRMED.value,
        ~sa.exists().where(any_mark.c.registration_id == registrations.c.id),
    )
    rows = conn.execute(
        sa.select(events.c.id)
        .where(
            events.c.status == "scheduled",
            events.c.starts_at < ended_before,  # narrows by the index on starts_at
            events.c.ends_at >= ended_from,
            events.c.ends_at < ended_before,
            register_taken,
            left_unmarked,
        )
        .order_by(events.c.ends_at, events.c.id)
        .limit(limit)
    )
    return [row.id for row in rows]


# Consent to be counted centrally ----------------------------------------------------------


def record_consent(conn: Connection, person_id: uuid.UUID, *, counted: bool, as_of: datetime) -> None:
    """What the person's referral of ``as_of`` said; a referral older than the one known changes
    nothing, so the answer does not depend on the order referrals arrive in."""
    statement = insert_for(conn.dialect.name, participants).values(
        person_id=person_id, counted_in_figures=counted, as_of=as_of
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[participants.c.person_id],
            set_={"counted_in_figures": statement.excluded.counted_in_figures, "as_of": statement.excluded.as_of},
            where=participants.c.as_of < statement.excluded.as_of,
        )
    )


def counted_centrally(conn: Connection, person_id: uuid.UUID) -> bool:
    """Only a person whose newest referral agreed is counted; one not (yet) known is not."""
    found = conn.execute(
        sa.select(participants.c.counted_in_figures).where(participants.c.person_id == person_id)
    ).scalar_one_or_none()
    return bool(found)


def forget_consent(conn: Connection, person_id: uuid.UUID) -> None:
    conn.execute(participants.delete().where(participants.c.person_id == person_id))
