"""One function per consumed event type; each writes only inside the consumer's transaction.

Handlers only record what is owed and what is now true; whether and how a message goes is
decided when it falls due (see :mod:`notifications.domain.policy`), so events may arrive in
any order and any number of times.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from notifications import commands, store
from notifications.domain.recipients import Recipient
from peerlink.contracts import (
    ARTEVENT_CANCELLED,
    ARTEVENT_CHANGED,
    ARTEVENT_SCHEDULED,
    CONTACT_RECORDED,
    GUEST_CONTACT_RECORDED,
    MATCH_CONFIRMED,
    MATCH_ENDED,
    MENTOR_CONTACT_RECORDED,
    PERSON_ERASED,
    REFERRAL_ACCEPTED,
    REFERRAL_DECLINED,
    REFERRAL_PERSON_RESOLVED,
    REFERRAL_RECEIVED,
    REGISTRATION_CANCELLED,
    REGISTRATION_CONFIRMED,
    REGISTRATION_PROMOTED,
    REGISTRATION_WAITLISTED,
)
from peerlink.subscriptions import Event, HandlerContext, Subscriptions

subscriptions = Subscriptions("notifications")

# What registrants are told about: a change of capacity or visibility is not news to them.
NEWSWORTHY_CHANGES = frozenset({"title", "venue", "starts_at", "ends_at"})


def _now() -> datetime:
    return datetime.now(UTC)


# Contact details (peerlink.private) ----------------------------------------------------------


def _contact(event: Event, tx: HandlerContext, id_field: str, audience: str) -> None:
    data = event.data
    commands.record_contact(
        tx.connection,
        Recipient(
            recipient_id=str(data[id_field]),
            audience=audience,
            given_name=data["given_name"],
            email=data.get("email"),
            phone=data.get("phone"),
            preferred_language=data.get("preferred_language"),
            channels=tuple(data["channels"]),
            safe_to_text=data["safe_to_text"],
        ),
        _now(),
    )


@subscriptions.on(CONTACT_RECORDED)
def on_contact_recorded(event: Event, tx: HandlerContext) -> None:
    _contact(event, tx, "person_id", "person")


@subscriptions.on(MENTOR_CONTACT_RECORDED)
def on_mentor_contact_recorded(event: Event, tx: HandlerContext) -> None:
    _contact(event, tx, "mentor_id", "mentor")


@subscriptions.on(GUEST_CONTACT_RECORDED)
def on_guest_contact_recorded(event: Event, tx: HandlerContext) -> None:
    _contact(event, tx, "guest_id", "guest")


# Referrals -------------------------------------------------------------------------------


@subscriptions.on_batch(REFERRAL_RECEIVED)
def on_referrals_received(events: list[Event], conn: Connection) -> None:
    """The busiest event: a batch of them owes its messages in one statement. Each person gets
    an acknowledgement; each coordinator a note of the new referral (or an item in their digest).
    Whether the person agreed to be counted centrally is kept: it decides where the events about
    their messages go.

    A referral linked to someone already known (``known_person``) is only a possible duplicate:
    a namesake's, or anyone's who typed her name and birthday. It speaks for nobody yet: its
    acknowledgement is held (to her known address it could reach the wrong person, and tell her
    someone referred in her name) and its consent is not taken, until ``referral.person-resolved``.
    Coordinators are told at once: they are the ones to answer."""
    now = _now()
    store.record_counted(
        conn,
        {
            str(e.data["person_id"]): (bool(e.data["counted_in_figures"]), e.data["received_at"])
            for e in events
            if not e.data["known_person"]
        },
    )
    coordinators = store.coordinator_ids(conn)
    owed = []
    for event in events:
        data = event.data
        person = str(data["person_id"])
        if data["known_person"]:
            commands.hold_acknowledgement(
                conn, event_id=event.id, referral_id=data["referral_id"], linked_person_id=person, now=now
            )
            # Whose it is is not known: its own consent decides where the notes' events go, as it
            # decided where the referral.received itself went.
            about = {"concerns": None, "site_only": not data["counted_in_figures"]}
        else:
            owed.append(commands.acknowledgement(event.id, data["referral_id"], person))
            about = {"concerns": person}
        note = {
            "reference": commands.reference(data["referral_id"]),
            "self_referral": bool(data.get("self_referral")),
            "welsh_preferred": data["preferred_language"] == "cy",
        }
        owed += [
            store.Owed(event.id, "referral-received-coordinator", someone, "coordinator", ("email",), note, **about)
            for someone in coordinators
        ]
    commands.owe_all(conn, owed, now)


@subscriptions.on(REFERRAL_PERSON_RESOLVED)
def on_referral_person_resolved(event: Event, tx: HandlerContext) -> None:
    """Whose a possible duplicate is: the held acknowledgement goes to them (a different person's
    contact details were recorded just before this; if they are late, it waits for them)."""
    data = event.data
    commands.person_resolved(
        tx.connection,
        referral_id=data["referral_id"],
        person_id=str(data["person_id"]),
        linked_person_id=str(data["linked_person_id"]),
        resolution=data["resolution"],
        referral_status=data["referral_status"],
        counted=bool(data["counted_in_figures"]),
        received_at=data["received_at"],
        now=_now(),
    )


@subscriptions.on(REFERRAL_ACCEPTED)
def on_referral_accepted(event: Event, tx: HandlerContext) -> None:
    data = event.data
    commands.owe(
        tx.connection,
        event_id=event.id,
        kind="referral-accepted",
        recipient_id=str(data["person_id"]),
        audience="person",
        values={"reference": commands.reference(data["referral_id"]), "reentry": bool(data["reentry"])},
        now=_now(),
    )


@subscriptions.on(REFERRAL_DECLINED)
def on_referral_declined(event: Event, tx: HandlerContext) -> None:
    data = event.data
    if data["reason"] == "declined-by-person":
        return  # they said no themselves: telling them we declined would be wrong
    commands.owe(
        tx.connection,
        event_id=event.id,
        kind="referral-declined",
        recipient_id=str(data["person_id"]),
        audience="person",
        values={"reference": commands.reference(data["referral_id"]), "reason": data["reason"]},
        now=_now(),
    )


# Matches ---------------------------------------------------------------------------------


@subscriptions.on(MATCH_CONFIRMED)
def on_match_confirmed(event: Event, tx: HandlerContext) -> None:
    data, now = event.data, _now()
    person_id, mentor_id = str(data["person_id"]), str(data["mentor_id"])

    current = store.get_match(tx.connection, str(data["match_id"]))
    if current is None or current.status != "ended":
        store.put_match(
            tx.connection,
            str(data["match_id"]),
            person_id=person_id,
            mentor_id=mentor_id,
            status="confirmed",
            as_of=data["confirmed_at"],
        )
    common = {"event_id": event.id, "values": {}, "now": now}
    commands.owe(
        tx.connection,
        kind="match-confirmed-mentee",
        recipient_id=person_id,
        audience="person",
        about_id=mentor_id,
        **common,
    )
    commands.owe(
        tx.connection,
        kind="match-confirmed-mentor",
        recipient_id=mentor_id,
        audience="mentor",
        about_id=person_id,
        **common,
    )


@subscriptions.on(MATCH_ENDED)
def on_match_ended(event: Event, tx: HandlerContext) -> None:
    data, now = event.data, _now()
    person_id, mentor_id = str(data["person_id"]), str(data["mentor_id"])

    store.put_match(
        tx.connection,
        str(data["match_id"]),
        person_id=person_id,
        mentor_id=mentor_id,
        status="ended",
        as_of=data["ended_at"],
    )
    if data["reason"] == "safeguarding":
        return  # told in person by the coordinator, never by an automatic message
    common = {"event_id": event.id, "kind": "match-ended", "values": {"reason": data["reason"]}, "now": now}
    commands.owe(tx.connection, recipient_id=person_id, audience="person", about_id=mentor_id, **common)
    commands.owe(tx.connection, recipient_id=mentor_id, audience="mentor", about_id=person_id, **common)


# Registrations ---------------------------------------------------------------------------


def _registrant(data: dict[str, Any]) -> tuple[str, str]:
    if data.get("person_id") is not None:
        return str(data["person_id"]), "person"
    return str(data["guest_id"]), "guest"


def _registration(event: Event, tx: HandlerContext, *, status: str, kind: str, at: str, values: dict[str, Any]) -> None:
    data, now = event.data, _now()
    recipient_id, audience = _registrant(data)
    registration_id, art_event_id = str(data["registration_id"]), str(data["event_id"])
    fresh = commands.registration_changed(
        tx.connection,
        registration_id=registration_id,
        art_event_id=art_event_id,
        recipient_id=recipient_id,
        audience=audience,
        status=status,
        starts_at=data["starts_at"],
        as_of=data[at],
    )
    if not fresh:
        return
    commands.owe(
        tx.connection,
        event_id=event.id,
        kind=kind,
        recipient_id=recipient_id,
        audience=audience,
        values={"starts_at": data["starts_at"].isoformat(), "places": data["places"], **values},
        now=now,
        art_event_id=art_event_id,
        registration_id=registration_id,
    )
    if status == "confirmed":
        commands.schedule_reminder(
            tx.connection,
            registration_id=registration_id,
            art_event_id=art_event_id,
            recipient_id=recipient_id,
            audience=audience,
            starts_at=data["starts_at"],
            booked_at=data[at],
            now=now,
        )


@subscriptions.on(REGISTRATION_CONFIRMED)
def on_registration_confirmed(event: Event, tx: HandlerContext) -> None:
    _registration(event, tx, status="confirmed", kind="registration-confirmed", at="confirmed_at", values={})


@subscriptions.on(REGISTRATION_PROMOTED)
def on_registration_promoted(event: Event, tx: HandlerContext) -> None:
    _registration(event, tx, status="confirmed", kind="registration-promoted", at="promoted_at", values={})


@subscriptions.on(REGISTRATION_WAITLISTED)
def on_registration_waitlisted(event: Event, tx: HandlerContext) -> None:
    position = event.data["position"]
    _registration(
        event,
        tx,
        status="waitlisted",
        kind="registration-waitlisted",
        at="waitlisted_at",
        values={"position": position},
    )


@subscriptions.on(REGISTRATION_CANCELLED)
def on_registration_cancelled(event: Event, tx: HandlerContext) -> None:
    data = event.data
    recipient_id, audience = _registrant(data)
    registration_id = str(data["registration_id"])
    commands.registration_changed(
        tx.connection,
        registration_id=registration_id,
        art_event_id=str(data["event_id"]),
        recipient_id=recipient_id,
        audience=audience,
        status="cancelled",
        cancel_reason=data["reason"],
        starts_at=data["starts_at"],
        as_of=data["cancelled_at"],
    )
    commands.registration_cancelled(tx.connection, registration_id, _now())


# Art events ------------------------------------------------------------------------------


def _details(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": data["kind"],
        "title_cy": data["title_cy"],
        "title_en": data["title_en"],
        "venue": data["venue"],
        "starts_at": data["starts_at"],
        "ends_at": data["ends_at"],
    }


@subscriptions.on(ARTEVENT_SCHEDULED)
def on_artevent_scheduled(event: Event, tx: HandlerContext) -> None:
    data = event.data
    commands.event_scheduled(
        tx.connection, str(data["event_id"]), _details(data), as_of=data["scheduled_at"], now=_now()
    )


@subscriptions.on(ARTEVENT_CHANGED)
def on_artevent_changed(event: Event, tx: HandlerContext) -> None:
    data, now = event.data, _now()
    art_event_id = str(data["event_id"])
    fresh = commands.event_changed(tx.connection, art_event_id, _details(data), as_of=data["changed_at"], now=now)
    changed = sorted(NEWSWORTHY_CHANGES & set(data["changed"]))
    if fresh and changed:
        _tell_registrants(tx, event, art_event_id, "event-changed", {"changed": changed}, now)


@subscriptions.on(ARTEVENT_CANCELLED)
def on_artevent_cancelled(event: Event, tx: HandlerContext) -> None:
    data, now = event.data, _now()
    art_event_id = str(data["event_id"])
    fresh = commands.event_cancelled(
        tx.connection, art_event_id, as_of=data["cancelled_at"], kind=data["kind"], starts_at=data["starts_at"], now=now
    )
    if fresh:
        _tell_registrants(tx, event, art_event_id, "event-cancelled", {"reason": data["reason"]}, now)


def _tell_registrants(
    tx: HandlerContext, event: Event, art_event_id: str, kind: str, values: dict[str, Any], now: datetime
) -> None:

    for registration in store.registrants(tx.connection, art_event_id):
        commands.owe(
            tx.connection,
            event_id=event.id,
            kind=kind,
            recipient_id=registration.recipient_id,
            audience=registration.audience,
            values=values,
            now=now,
            art_event_id=art_event_id,
            registration_id=registration.registration_id,
        )


# People ----------------------------------------------------------------------------------


@subscriptions.on(PERSON_ERASED)
def on_person_erased(event: Event, tx: HandlerContext) -> None:
    commands.erase_person(tx.connection, str(event.data["person_id"]), _now())
