"""The use cases of events, each one transaction: domain rules, then the store and the outbox
through the same connection. The API, the message handlers and the scheduler only translate to
and from these.

Every change to an event's places (a registration, a cancellation, a promotion, a change of
capacity, the event's cancellation, an erasure) first locks the event's row, so they happen one
at a time per event; several events are locked in id order (:func:`store.schedule.lock_events`).

What is said about a participant (their registrations, their attendance) goes to
``peerlink.site-only`` unless their newest referral agreed to their being counted by the central
office (``referral.received``'s ``counted_in_figures``): it reaches every consumer at the site
and never the link to the central office. Guests, events and sales are not about a participant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from events import store
from events.domain import attendance as attending
from events.domain import guests as guest_rules
from events.domain import registration as booking
from events.domain import sales as selling
from events.domain import schedule, wire
from events.domain.attendance import Attendance
from events.domain.guests import Guest, GuestDetails
from events.domain.recurrence import parse_rule
from events.domain.registration import Registration, Status
from events.domain.sales import Artwork, Bid, Lot, LotStatus, Sale
from events.domain.schedule import ArtEvent, Details, Group, InvalidEvent, Series
from events.domain.timing import zone
from peerlink.contracts import (
    ARTEVENT_CANCELLED,
    ARTEVENT_CHANGED,
    ARTEVENT_SCHEDULED,
    ATTENDANCE_RECORDED,
    GUEST_CONTACT_RECORDED,
    REGISTRATION_CANCELLED,
    REGISTRATION_CONFIRMED,
    REGISTRATION_PROMOTED,
    REGISTRATION_WAITLISTED,
    SALE_RECORDED,
    EventType,
)
from peerlink.contracts.sale import SALE_VOIDED

MAX_SERIES_SESSION = timedelta(hours=24)


class Transaction(Protocol):
    """A unit of work (HTTP) or a handler context (messages): one connection, one outbox."""

    connection: Connection

    def emit(self, event_type: EventType, *, subject: str, data: dict[str, Any], site_only: bool = False) -> Any: ...


class NotFound(LookupError):
    pass


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came with a different request."""


class GroupInactive(Exception):
    """The group is archived: it takes no new events (409)."""


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the record of it says: a token's label and role, or a message."""

    label: str
    role: str


ERASURE = Actor("person.erased", "service")


# Groups -----------------------------------------------------------------------------------


def create_group(tx: Transaction, values: dict[str, Any], *, now: datetime) -> Group:
    group = Group(
        id=uuid.uuid4(),
        name_cy=values["name_cy"],
        name_en=values["name_en"],
        usual_venue=values["usual_venue"],
        accessibility_cy=values.get("accessibility_cy"),
        accessibility_en=values.get("accessibility_en"),
        facilitators=tuple(dict.fromkeys(values.get("facilitators", ()))),
        active=True,
        created_at=now,
        updated_at=now,
    )
    store.schedule.add_group(tx.connection, group)
    return group


def update_group(tx: Transaction, group_id: uuid.UUID, updates: dict[str, Any], *, now: datetime) -> Group:
    group = store.schedule.get_group(tx.connection, group_id, for_update=True)
    if group is None:
        raise NotFound(f"No group {group_id}.")
    updated = schedule.update_group(group, updates, now)
    store.schedule.save_group(tx.connection, updated)
    return updated


def _active_group(tx: Transaction, group_id: uuid.UUID) -> Group:
    group = store.schedule.get_group(tx.connection, group_id)
    if group is None:
        raise InvalidEvent("No such group.", "group_id")
    if not group.active:
        raise GroupInactive("The group is archived: it takes no new events.")
    return group


# Events -----------------------------------------------------------------------------------


def schedule_event(
    tx: Transaction,
    details: Details,
    *,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    group_id: uuid.UUID | None,
    now: datetime,
) -> ArtEvent:
    if group_id is not None:
        _active_group(tx, group_id)
    event = schedule.new_event(
        details, starts_at=starts_at, ends_at=ends_at, timezone=timezone, group_id=group_id, now=now
    )
    store.schedule.add_event(tx.connection, event)
    tx.emit(ARTEVENT_SCHEDULED, subject=str(event.id), data=wire.scheduled(event))
    return event


def change_event(tx: Transaction, event_id: uuid.UUID, updates: dict[str, Any], *, now: datetime) -> ArtEvent:
    event = _event(tx, event_id, lock=True)
    active = store.places.active_registrations(tx.connection, event_id)
    change = schedule.change(
        event,
        updates,
        now=now,
        active_registrations=len(active),
        active_guests=sum(1 for r in active if r.guest_id is not None),
    )
    store.schedule.save_event(tx.connection, change.event)
    if change.changed:
        tx.emit(ARTEVENT_CHANGED, subject=str(event.id), data=wire.changed(change.event, change.changed))
    if change.capacity_grew:
        _promote(tx, event_id, now)
    return _event(tx, event_id)


def cancel_event(tx: Transaction, event_id: uuid.UUID, *, reason: str, now: datetime) -> ArtEvent:
    """Cancel the event and every registration it had (``event-cancelled``), so that reminders
    go with them; the event's own message comes first. Its open auction lots are withdrawn (no
    bid on them can win now; their artworks stay for sale). Lots are not on the wire and
    withdrawing one moves no money, so nothing more is said."""
    event = _event(tx, event_id, lock=True)
    cancelled = schedule.cancel(event, reason=reason, now=now)
    store.schedule.save_event(tx.connection, cancelled)
    store.schedule.release_places(tx.connection, event_id, event.places_confirmed)
    tx.emit(ARTEVENT_CANCELLED, subject=str(event.id), data=wire.cancelled(cancelled))
    for registration in store.places.active_registrations(tx.connection, event_id):
        gone = booking.cancel(registration, reason="event-cancelled", now=now)
        store.places.save_registration(tx.connection, gone)
        _say(tx, REGISTRATION_CANCELLED, gone, wire.registration_cancelled(gone, cancelled))
    for lot in store.ledger.open_lots_of_event(tx.connection, event_id):  # event, then lot: as add_lot
        store.ledger.save_lot(tx.connection, selling.withdraw(lot, now))
    return _event(tx, event_id)


def _event(tx: Transaction, event_id: uuid.UUID, *, lock: bool = False) -> ArtEvent:
    event = store.schedule.get_event(tx.connection, event_id, for_update=lock)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    return event


# Series -----------------------------------------------------------------------------------


def create_series(
    tx: Transaction,
    details: Details,
    *,
    group_id: uuid.UUID,
    rule: str,
    first_wall: datetime,
    duration: timedelta,
    timezone: str,
    horizon_weeks: int,
    now: datetime,
) -> tuple[Series, list[ArtEvent]]:
    """A recurring session: the series and its occurrences up to the horizon, made now."""
    _active_group(tx, group_id)
    tz = zone(timezone)
    schedule.check_details(details)
    if not timedelta(minutes=1) <= duration <= MAX_SERIES_SESSION:
        raise InvalidEvent("A session of a series lasts from a minute to 24 hours.", "duration_minutes")
    parsed = parse_rule(rule, first_wall, tz)
    if next(parsed.occurrences(first_wall, tz, until=now + timedelta(days=366), after=now), None) is None:
        raise InvalidEvent("This series has no session in the coming year.", "rrule")
    item = Series(
        id=uuid.uuid4(),
        group_id=group_id,
        details=details,
        rule=parsed,
        first_wall=first_wall,
        duration=duration,
        timezone=timezone,
        horizon_weeks=horizon_weeks,
        scheduled_until=None,
        created_at=now,
    )
    store.schedule.add_series(tx.connection, item)
    made = extend_series(tx, item.id, now=now)
    return _series(tx, item.id), made


def extend_series(tx: Transaction, series_id: uuid.UUID, *, now: datetime) -> list[ArtEvent]:
    """Make the occurrences now due (up to the series' horizon from ``now``); safe to run again
    and from several workers at once (the series row is locked, each occurrence made once)."""
    item = _series(tx, series_id, lock=True)
    if item.ended_at is not None:
        return []
    made = []
    for occurrence in item.due(now):
        if store.schedule.occurrence_made(tx.connection, item.id, occurrence.starts_at):
            continue
        event = schedule.occurrence_of(item, occurrence, now)
        store.schedule.add_event(tx.connection, event)
        tx.emit(ARTEVENT_SCHEDULED, subject=str(event.id), data=wire.scheduled(event))
        made.append(event)
    store.schedule.save_series(tx.connection, replace(item, scheduled_until=now + timedelta(weeks=item.horizon_weeks)))
    return made


def end_series(
    tx: Transaction, series_id: uuid.UUID, *, after: datetime, reason: str, now: datetime
) -> tuple[Series, list[ArtEvent]]:
    """No more sessions from ``after``: those already made are cancelled with ``reason``."""
    item = _series(tx, series_id, lock=True)
    if item.ended_at is not None:
        raise schedule.EventLocked("The series has already ended.")
    cancelled = []
    upcoming, _ = store.schedule.list_events(
        tx.connection,
        store.schedule.EventFilter(series_id=series_id, status="scheduled", starts_from=max(after, now), limit=10_000),
    )
    store.schedule.lock_events(tx.connection, [e.id for e in upcoming])  # in id order, as everyone locks several
    for event in upcoming:
        if _event(tx, event.id).is_cancelled:  # cancelled on its own while we waited for its lock
            continue
        cancelled.append(cancel_event(tx, event.id, reason=reason, now=now))
    store.schedule.save_series(tx.connection, replace(item, ended_at=now, end_reason=reason))
    return _series(tx, series_id), cancelled


def _series(tx: Transaction, series_id: uuid.UUID, *, lock: bool = False) -> Series:
    item = store.schedule.get_series(tx.connection, series_id, for_update=lock)
    if item is None:
        raise NotFound(f"No series {series_id}.")
    return item


# Registrations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    registration: Registration
    position: int | None
    guest: Guest | None
    replayed: bool = False  # an earlier request with the same Idempotency-Key made it


def register(
    tx: Transaction,
    event_id: uuid.UUID,
    *,
    person_id: uuid.UUID | None,
    guest: GuestDetails | None,
    mentor_id: uuid.UUID | None,
    places_wanted: int,
    now: datetime,
    idempotency: tuple[str, str] | None = None,
) -> Registered:
    conn = tx.connection
    earlier = _replay(tx, idempotency)
    if earlier:
        return earlier
    # Everything that does not depend on the places is done before taking the event's lock, so
    # that the lock (which every registration of a popular event queues for) is held briefly,
    # and a refusal (closed, cancelled, bad request) never queues for it at all.
    _check_registration(_event(tx, event_id), person_id, guest, mentor_id, places_wanted, now)
    first_time = person_id is not None and not store.places.has_attended(conn, person_id)
    at_site_only = _kept_at_site(tx, person_id)
    registrant_guest = _guest_for(tx, guest, now) if guest is not None else None
    guest_id = registrant_guest.id if registrant_guest else None
    event = _event(tx, event_id, lock=True)
    earlier = _replay(tx, idempotency)  # a twin of this request may have committed while we waited
    if earlier:
        return earlier
    _check_registration(event, person_id, guest, mentor_id, places_wanted, now)  # again: it may have changed
    if guest_id is not None:
        existing = store.places.active_registration(conn, event_id, guest_id=guest_id)
        if existing is not None:
            raise booking.AlreadyRegistered(existing)
    # The participant or their mentor may hold a place already, in either role (``places_held``
    # refuses it too, should this check ever be skipped).
    booking.check_places_free(person_id, mentor_id, store.places.places_held_by(conn, event_id, (person_id, mentor_id)))
    registrant = booking.Registrant(
        person_id=person_id, guest_id=guest_id, mentor_id=mentor_id, places=places_wanted, first_time=first_time
    )
    confirmed = booking.fits(event, places_wanted) and store.schedule.take_places(conn, event_id, places_wanted)
    queue_number = None if confirmed else store.schedule.next_queue_number(conn, event_id)
    registration = booking.new_registration(event, registrant, now=now, queue_number=queue_number)
    store.places.add_registration(conn, registration, idempotency=idempotency)
    if confirmed:
        data = wire.registration_confirmed(registration, event)
        tx.emit(REGISTRATION_CONFIRMED, subject=str(registration.id), data=data, site_only=at_site_only)
        return Registered(registration, None, registrant_guest)
    position = store.places.position_of(conn, registration)
    data = wire.registration_waitlisted(registration, event, position)
    tx.emit(REGISTRATION_WAITLISTED, subject=str(registration.id), data=data, site_only=at_site_only)
    return Registered(registration, position, registrant_guest)


def _kept_at_site(tx: Transaction, person_id: uuid.UUID | None) -> bool:
    return person_id is not None and not store.places.counted_centrally(tx.connection, person_id)


def _say(tx: Transaction, event_type: EventType, registration: Registration, data: dict[str, Any]) -> None:
    """A registration's event, kept at the site if it is about a participant not counted centrally."""
    tx.emit(event_type, subject=str(registration.id), data=data, site_only=_kept_at_site(tx, registration.person_id))


def _check_registration(
    event: ArtEvent,
    person_id: uuid.UUID | None,
    guest: GuestDetails | None,
    mentor_id: uuid.UUID | None,
    places_wanted: int,
    now: datetime,
) -> None:
    booking.check_open(event, now)
    booking.check_registrant(
        event, person_id=person_id, is_guest=guest is not None, mentor_id=mentor_id, places=places_wanted
    )


def _replay(tx: Transaction, idempotency: tuple[str, str] | None) -> Registered | None:
    if not idempotency:
        return None
    found = store.places.registration_for_key(tx.connection, idempotency[0])
    if found is None:
        return None
    registration, fingerprint = found
    if fingerprint != idempotency[1]:
        raise IdempotencyConflict("This Idempotency-Key was used for a different request.")
    return Registered(
        registration,
        store.places.position_of(tx.connection, registration) if registration.status is Status.WAITLISTED else None,
        store.places.get_guest(tx.connection, registration.guest_id) if registration.guest_id else None,
        replayed=True,
    )


def _guest_for(tx: Transaction, details: GuestDetails, now: datetime) -> Guest:
    """The guest with this email (their details refreshed), or a new one; their contact details
    go to ``peerlink.private`` when new or changed, before the registration's own message."""
    known = store.places.guest_by_email(tx.connection, guest_rules.email_key(details.email), for_update=True)
    if known is None:
        guest = guest_rules.new_guest(details, now)
        store.places.add_guest(tx.connection, guest)
    else:
        guest, changed = guest_rules.refreshed(known, details, now)
        if not changed:
            return guest
        store.places.save_guest(tx.connection, guest)
    tx.emit(GUEST_CONTACT_RECORDED, subject=str(guest.id), data=wire.guest_contact(guest))
    return guest


def cancel_registration(
    tx: Transaction, event_id: uuid.UUID, registration_id: uuid.UUID, *, reason: str, now: datetime
) -> Registration:
    """Cancel a registration (again: nothing more happens); the freed places go to the waiting list."""
    event = _event(tx, event_id, lock=True)
    registration = store.places.get_registration(tx.connection, registration_id)
    if registration is None or registration.event_id != event_id:
        raise NotFound(f"No registration {registration_id} for this event.")
    if not registration.is_active:
        return registration
    if event.has_started(now):
        raise booking.RegistrationRefused(
            "The event has started: a registration can no longer be cancelled (record a no-show instead).",
            "registration-closed",
        )
    gone = _cancel(tx, registration, event, reason=reason, now=now)
    _promote(tx, event_id, now)
    return gone


def _cancel(
    tx: Transaction, registration: Registration, event: ArtEvent, *, reason: str, now: datetime
) -> Registration:
    gone = booking.cancel(registration, reason=reason, now=now)
    store.places.save_registration(tx.connection, gone)
    if registration.status is Status.CONFIRMED:
        store.schedule.release_places(tx.connection, registration.event_id, registration.places)
    _say(tx, REGISTRATION_CANCELLED, gone, wire.registration_cancelled(gone, event))
    return gone


def _promote(tx: Transaction, event_id: uuid.UUID, now: datetime) -> list[Registration]:
    """Give freed places to the waiting list, in order (the event's row is locked by the caller)."""
    event = _event(tx, event_id)
    if event.is_cancelled or event.has_started(now) or not event.waiting:
        return []
    promoted = []
    for registration in booking.to_promote(event, store.places.waiting_list(tx.connection, event_id)):
        if not store.schedule.take_places(tx.connection, event_id, registration.places):
            break
        moved = booking.promote(registration, now)
        store.places.save_registration(tx.connection, moved)
        _say(tx, REGISTRATION_PROMOTED, moved, wire.registration_promoted(moved, event))
        promoted.append(moved)
    return promoted


# Attendance -------------------------------------------------------------------------------


def record_attendance(
    tx: Transaction,
    event_id: uuid.UUID,
    *,
    status: str,
    registration_id: uuid.UUID | None,
    headcount: int | None,
    now: datetime,
) -> Attendance:
    """Record (or correct) who came; a correction keeps the record's id and emits it again."""
    event = _event(tx, event_id, lock=True)
    if status == "drop-in":
        if registration_id is not None:
            raise attending.InvalidAttendance(
                "A drop-in count is for people without a registration.", "registration_id"
            )
        if headcount is None:
            raise attending.InvalidAttendance("Give the number of people counted.", "headcount")
        earlier = store.places.drop_in_of_event(tx.connection, event_id)
        record = attending.drop_in(event, headcount=headcount, earlier=earlier, now=now)
    else:
        if registration_id is None:
            raise attending.InvalidAttendance("Name the registration that attended or did not show.", "registration_id")
        registration = store.places.get_registration(tx.connection, registration_id)
        if registration is None or registration.event_id != event_id:
            raise attending.InvalidAttendance("No such registration for this event.", "registration_id")
        earlier = store.places.attendance_of_registration(tx.connection, registration_id)
        record = attending.for_registration(
            event, registration, status=status, headcount=headcount, earlier=earlier, now=now
        )
    if earlier is not None and (earlier.status, earlier.headcount) == (record.status, record.headcount):
        if earlier.assumed:  # an assumed no-show confirmed by hand: the same on the wire, theirs now
            store.places.save_attendance(tx.connection, record, new=False)
            return record
        return earlier
    _record(tx, record, new=earlier is None)
    return record


def assume_no_shows(tx: Transaction, event_id: uuid.UUID, *, now: datetime, after: timedelta) -> list[Attendance]:
    """Each confirmed registration of the event still unmarked ``after`` its end is a no-show,
    recorded and announced as one marked by hand (see :mod:`events.domain.attendance`); under
    the event's lock, so a mark by hand made meanwhile is seen and never overridden."""
    event = _event(tx, event_id, lock=True)
    records = attending.assumed_no_shows(
        event,
        store.places.registrations_of_event(tx.connection, event_id, "confirmed"),
        store.places.attendance_of_event(tx.connection, event_id),
        now=now,
        after=after,
    )
    for record in records:
        _record(tx, record, new=True)
    return records


def _record(tx: Transaction, record: Attendance, *, new: bool) -> None:
    store.places.save_attendance(tx.connection, record, new=new)
    tx.emit(
        ATTENDANCE_RECORDED,
        subject=str(record.id),
        data=wire.attendance_recorded(record),
        site_only=_kept_at_site(tx, record.person_id),
    )


# Artworks and sales -----------------------------------------------------------------------


def create_artwork(tx: Transaction, values: dict[str, Any], *, now: datetime, by: Actor) -> Artwork:
    group_id = values.get("group_id")
    if group_id is not None and store.schedule.get_group(tx.connection, group_id) is None:
        raise selling.InvalidSale("No such group.", "group_id")
    artwork = selling.new_artwork(
        group_id=group_id,
        artist_person_id=values.get("artist_person_id"),
        credit=values["credit"],
        artist_name=values.get("artist_name"),
        pseudonym=values.get("pseudonym"),
        title=values["title"],
        medium=values.get("medium"),
        artist_share_percent=values["artist_share_percent"],
        print_run=values.get("print_run"),
        now=now,
    )
    store.ledger.add_artwork(tx.connection, artwork)
    _credited(tx, artwork, by, now)
    return artwork


def change_credit(
    tx: Transaction,
    artwork_id: uuid.UUID,
    *,
    credit: str,
    artist_name: str | None,
    pseudonym: str | None,
    now: datetime,
    by: Actor,
) -> tuple[Artwork, bool]:
    """The artist changed or withdrew their consent to how the work is credited: it is shown so
    from now on everywhere it is shown, and the change is kept (to what, when, by whom). Returns
    the artwork and whether anything changed."""
    artwork = store.ledger.get_artwork(tx.connection, artwork_id, for_update=True)
    if artwork is None:
        raise NotFound(f"No artwork {artwork_id}.")
    changed = selling.change_credit(artwork, credit=credit, artist_name=artist_name, pseudonym=pseudonym, now=now)
    if changed is None:
        return artwork, False
    store.ledger.save_artwork(tx.connection, changed)
    _credited(tx, changed, by, now)
    return changed, True


def _credited(tx: Transaction, artwork: Artwork, by: Actor, now: datetime) -> None:
    change = selling.credit_change(artwork, changed_by=by.label, role=by.role, now=now)
    store.ledger.add_credit_change(tx.connection, change)


def record_sale(
    tx: Transaction,
    event_id: uuid.UUID,
    *,
    kind: str,
    quantity: int,
    unit_price_pence: int,
    artwork_id: uuid.UUID | None,
    now: datetime,
    idempotency: tuple[str, str] | None = None,
) -> tuple[Sale, bool]:
    """A sale at the event; returns it and whether it was made by an earlier, identical request."""
    if idempotency:
        found = store.ledger.sale_for_key(tx.connection, idempotency[0])
        if found is not None:
            if found[1] != idempotency[1]:
                raise IdempotencyConflict("This Idempotency-Key was used for a different request.")
            return found[0], True
    selling.check_sale(kind=kind, quantity=quantity, with_artwork=artwork_id is not None)
    event = _event(tx, event_id)
    artwork = _artwork_for_sale(tx, artwork_id) if artwork_id is not None else None
    if artwork is not None and kind != "cards":
        lot = store.ledger.open_lot_of_artwork(tx.connection, artwork.id)
        if lot is not None:
            raise selling.SaleRefused(f"The artwork is lot {lot.number} of an open auction: close the lot.")
    sale, sold = selling.sell(
        event, kind=kind, quantity=quantity, unit_price_pence=unit_price_pence, artwork=artwork, now=now
    )
    _book_sale(tx, sale, sold, idempotency)
    return sale, False


def _artwork_for_sale(tx: Transaction, artwork_id: uuid.UUID) -> Artwork:
    artwork = store.ledger.get_artwork(tx.connection, artwork_id, for_update=True)  # one seller of its stock at a time
    if artwork is None:
        raise selling.InvalidSale("No such artwork.", "artwork_id")
    return artwork


def _book_sale(
    tx: Transaction, sale: Sale, artwork: Artwork | None, idempotency: tuple[str, str] | None = None
) -> None:
    store.ledger.add_sale(tx.connection, sale, idempotency=idempotency)
    if artwork is not None:
        store.ledger.save_artwork(tx.connection, artwork)
    tx.emit(SALE_RECORDED, subject=str(sale.id), data=wire.sale_recorded(sale))


def void_sale(tx: Transaction, event_id: uuid.UUID, sale_id: uuid.UUID, *, reason: str, now: datetime) -> Sale:
    sale = store.ledger.get_sale(tx.connection, event_id, sale_id, for_update=True)
    if sale is None:
        raise NotFound(f"No sale {sale_id} at this event.")
    artwork = store.ledger.get_artwork(tx.connection, sale.artwork_id, for_update=True) if sale.artwork_id else None
    voided, restored = selling.void(sale, reason=reason, artwork=artwork, now=now)
    store.ledger.save_sale(tx.connection, voided)
    if restored is not None:
        store.ledger.save_artwork(tx.connection, restored)
    if sale.lot_id is not None:
        lot = store.ledger.get_lot(tx.connection, event_id, sale.lot_id, for_update=True)
        if lot is not None:
            store.ledger.save_lot(tx.connection, replace(lot, status=LotStatus.UNSOLD, winning_bid_id=None))
    tx.emit(SALE_VOIDED, subject=str(sale.id), data=wire.sale_voided(voided))
    return voided


def add_lot(
    tx: Transaction,
    event_id: uuid.UUID,
    *,
    artwork_id: uuid.UUID,
    reserve_pence: int | None,
    opening_pence: int | None,
    now: datetime,
) -> Lot:
    event = _event(tx, event_id, lock=True)  # lots are numbered one at a time per event
    artwork = _artwork_for_sale(tx, artwork_id)
    lot = selling.new_lot(
        event,
        artwork,
        number=store.ledger.next_lot_number(tx.connection, event_id),
        reserve_pence=reserve_pence,
        opening_pence=opening_pence,
        open_lot_of_artwork=store.ledger.open_lot_of_artwork(tx.connection, artwork_id),
        now=now,
    )
    store.ledger.add_lot(tx.connection, lot)
    return lot


def place_bid(
    tx: Transaction,
    event_id: uuid.UUID,
    lot_id: uuid.UUID,
    *,
    amount_pence: int,
    paddle: str,
    now: datetime,
    idempotency: tuple[str, str] | None = None,
) -> tuple[Bid, bool]:
    if idempotency:
        found = store.ledger.bid_for_key(tx.connection, idempotency[0])
        if found is not None:
            if found[1] != idempotency[1]:
                raise IdempotencyConflict("This Idempotency-Key was used for a different request.")
            return found[0], True
    lot = _lot(tx, event_id, lot_id)
    # Read after taking the lot's lock: a cancellation of the event has either withdrawn the lot
    # and committed (seen here) or will withdraw it after this bid, as the bid came first.
    event = _event(tx, event_id)
    bid = selling.place_bid(
        event, lot, store.ledger.highest_bid(tx.connection, lot_id), amount_pence=amount_pence, paddle=paddle, now=now
    )
    store.ledger.add_bid(tx.connection, bid, idempotency=idempotency)
    return bid, False


def close_lot(tx: Transaction, event_id: uuid.UUID, lot_id: uuid.UUID, *, now: datetime) -> tuple[Lot, Sale | None]:
    """Close bidding: the highest bid at or over the reserve buys the artwork (a sale, split as
    the artwork's artist agreed); otherwise the lot is unsold and the artwork stays for sale."""
    lot = _lot(tx, event_id, lot_id)
    event = _event(tx, event_id)
    closed, won = selling.close_lot(lot, store.ledger.highest_bid(tx.connection, lot_id), now)
    sale = None
    if won is not None:
        artwork = _artwork_for_sale(tx, lot.artwork_id)
        sale, sold = selling.sell(
            event,
            kind="auction-lot",
            quantity=1,
            unit_price_pence=won.amount_pence,
            artwork=artwork,
            now=now,
            lot_id=lot.id,
        )
        _book_sale(tx, sale, sold)
        closed = replace(closed, sale_id=sale.id)
    store.ledger.save_lot(tx.connection, closed)
    return closed, sale


def _lot(tx: Transaction, event_id: uuid.UUID, lot_id: uuid.UUID) -> Lot:
    lot = store.ledger.get_lot(tx.connection, event_id, lot_id, for_update=True)  # bids on one lot one at a time
    if lot is None:
        raise NotFound(f"No lot {lot_id} at this event.")
    return lot


# Erasure ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    registrations: int
    cancelled: int
    artworks: int
    facilitating: int


def erase_person(tx: Transaction, person_id: uuid.UUID, *, now: datetime) -> Erased:
    """``person.erased``: what events holds of the person goes; pseudonymous counts stay.

    - Their upcoming registrations are cancelled (``person-erased``, the places go to the
      waiting list); every registration and attendance record of theirs keeps its places,
      status and headcount but loses their id (and a mentor's id on a mentee's booking).
    - They stop facilitating any group.
    - As an artist: their name, pseudonym and link go, their works are credited anonymously,
      unsold ones (and open auction lots of them) are withdrawn; recorded sales stay, as money
      the scheme received.
    Running it again finds nothing left to do.
    """
    conn = tx.connection
    store.schedule.lock_events(conn, [r.event_id for r in store.places.registrations_of(conn, person_id=person_id)])
    mine = store.places.registrations_of(conn, person_id=person_id)  # again, now that their events are locked
    cancelled, touched = 0, set()
    for registration in mine:
        if registration.person_id == person_id:
            event = _event(tx, registration.event_id)
            if registration.is_active and not event.has_started(now):
                registration = _cancel(tx, registration, event, reason="person-erased", now=now)
                touched.add(event.id)
                cancelled += 1
            store.places.save_registration(conn, replace(registration, person_id=None, erased_at=now))
        else:  # they were the mentor booked with a mentee
            store.places.save_registration(conn, replace(registration, mentor_id=None))
    for event_id in sorted(touched):
        _promote(tx, event_id, now)
    store.places.forget_person_in_attendance(conn, person_id)
    facilitating = store.schedule.remove_facilitator(conn, person_id)
    # Lots before their artworks, the order in which closing a lot locks them.
    open_lots = store.ledger.open_lots_of_artworks(conn, store.ledger.artwork_ids_of_artist(conn, person_id))
    works = store.ledger.artworks_of_artist(conn, person_id)
    for lot in open_lots:
        store.ledger.save_lot(conn, selling.withdraw(lot, now))
    for artwork in works:
        anonymous = selling.erase_artist(artwork)
        store.ledger.save_artwork(conn, anonymous)
        if anonymous.credit is not artwork.credit:
            _credited(tx, anonymous, ERASURE, now)
    store.places.forget_consent(conn, person_id)
    return Erased(len(mine), cancelled, len(works), facilitating)


def record_consent(tx: Transaction, person_id: uuid.UUID, *, counted: bool, as_of: datetime) -> None:
    """A referral of the person said whether the central office may count them."""
    store.places.record_consent(tx.connection, person_id, counted=counted, as_of=as_of)


def erase_guest(tx: Transaction, guest_id: uuid.UUID, *, now: datetime) -> Guest:
    """A guest's details go (on request, or at the end of the retention period): their upcoming
    registrations are cancelled, and an empty ``guest-contact.recorded`` tells notifications to
    forget them too. Their past registrations stay, as counts."""
    conn = tx.connection
    # The guest's row before their events' rows, the order in which registering them locks the
    # two (their row, then the event's): the opposite order could deadlock with a registration.
    guest = store.places.get_guest(conn, guest_id, for_update=True)
    if guest is None:
        raise NotFound(f"No guest {guest_id}.")
    store.schedule.lock_events(conn, [r.event_id for r in store.places.registrations_of(conn, guest_id=guest_id)])
    erased = guest_rules.erase(guest, now)
    touched = set()
    for registration in store.places.registrations_of(conn, guest_id=guest_id):
        event = _event(tx, registration.event_id)
        if registration.is_active and not event.has_started(now):
            _cancel(tx, registration, event, reason="person-erased", now=now)
            touched.add(event.id)
    for event_id in sorted(touched):
        _promote(tx, event_id, now)
    store.places.save_guest(conn, erased)
    tx.emit(GUEST_CONTACT_RECORDED, subject=str(guest_id), data=wire.guest_contact(erased))
    return erased
