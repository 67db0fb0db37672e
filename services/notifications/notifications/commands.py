"""The use cases of notifications, each within the caller's transaction: what an event owes,
what a cancellation takes back, reminders and digests falling due, a person erased, a text
saying STOP. Handlers, the dispatcher, the scheduler and the API only translate to these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from notifications import store
from notifications.domain import policy
from notifications.domain.recipients import Recipient
from notifications.domain.sms import inbound_intent, normalise_phone
from peerlink.contracts.vocabulary import MESSAGE_CHANNELS

# Kinds about which nobody is asked to phone: they are the asking, or for staff.
NOT_PHONED_ABOUT = frozenset({"please-phone", "digest", "referral-received-coordinator"})


def channels_for(audience: str) -> tuple[str, ...]:
    """Coordinators are reached at work, by email; everyone else on any channel they agreed to."""
    return ("email",) if audience == "coordinator" else MESSAGE_CHANNELS


def owe(
    conn: Connection,
    *,
    event_id: str,
    kind: str,
    recipient_id: str,
    audience: str,
    values: dict[str, Any],
    now: datetime,
    **extra: Any,
) -> None:
    extra.setdefault("concerns", concerned(audience, recipient_id, extra.get("about_id"), kind))
    owe_all(
        conn,
        [store.Owed(event_id, kind, recipient_id, audience, channels_for(audience), values, **extra)],
        now,
    )


# Kinds written to someone else about a person referred in (a mentor, a coordinator).
ABOUT_A_PERSON = frozenset({"match-confirmed-mentor", "match-ended", "please-phone"})


def concerned(audience: str, recipient_id: str, about_id: str | None, kind: str) -> str | None:
    """The person referred in whom a message concerns, if any."""
    if audience == "person":
        return recipient_id
    if audience in ("mentor", "coordinator") and kind in ABOUT_A_PERSON:
        return about_id
    return None


def owe_all(conn: Connection, messages: list[store.Owed], now: datetime) -> None:
    """Messages owed, at once. A channel someone has not agreed to (their details known) is
    skipped straight away, sparing the sender a round, but only while another channel is agreed
    to, whose sender then settles the message (and asks for a call if nothing reached them); with
    none agreed to, or the details not known yet, everything is decided when it falls due."""
    consent = store.consented_channels(conn, [m.recipient_id for m in messages])
    counted = store.counted_people(conn, [m.concerns for m in messages if m.concerns])
    decided = []
    for message in messages:
        if message.concerns is not None and message.concerns not in counted:
            message = replace(message, site_only=True)  # not known to have agreed: kept at the site
        agreed = consent.get(message.recipient_id)
        if agreed is not None and set(message.channels) & set(agreed):
            skipped = {
                channel: (policy.NO_CONSENT, f"has not agreed to {channel}")
                for channel in message.channels
                if channel not in agreed
            }
            message = replace(message, settled=skipped)
        decided.append(message)
    store.owe_all(conn, decided, now)


# Referrals -----------------------------------------------------------------------------------


def reference(referral_id: Any) -> str:
    """What a person is told their referral is called: the start of its id."""
    return str(referral_id)[:8].upper()


def acknowledgement(event_id: str, referral_id: Any, person_id: str) -> store.Owed:
    """The person's acknowledgement of their referral, on any channel they agreed to."""
    values = {"reference": reference(referral_id)}
    return store.Owed(
        event_id, "referral-acknowledged", person_id, "person", channels_for("person"), values, concerns=person_id
    )


def hold_acknowledgement(
    conn: Connection, *, event_id: str, referral_id: Any, linked_person_id: str, now: datetime
) -> None:
    """A referral linked to someone known (a possible duplicate): acknowledged only once a
    coordinator has said whose it is. Owed straight away if the answer came first."""
    held = store.hold_or_answer(
        conn, str(referral_id), event_id=event_id, linked_person_id=linked_person_id, held_at=now
    )
    _acknowledge_if_answered(conn, held, now)


def person_resolved(
    conn: Connection,
    *,
    referral_id: Any,
    person_id: str,
    linked_person_id: str,
    resolution: str,
    referral_status: str,
    counted: bool,
    received_at: datetime,
    now: datetime,
) -> None:
    """A coordinator said whose a possible duplicate is: its consent to be counted is theirs (as of
    the day it was received, as a referral of theirs would be), and so is its acknowledgement."""
    store.record_counted(conn, {person_id: (counted, received_at)})
    held = store.hold_or_answer(
        conn,
        str(referral_id),
        linked_person_id=linked_person_id,
        person_id=person_id,
        resolution=resolution,
        referral_status=referral_status,
        resolved_at=now,
    )
    _acknowledge_if_answered(conn, held, now)


def _acknowledge_if_answered(conn: Connection, held: Any, now: datetime) -> None:
    """Both halves here: owe the acknowledgement to whoever the referral is about, unless it was
    withdrawn before the answer (telling anyone it was received would no longer be true)."""
    if held.event_id is None or held.person_id is None or held.released_at is not None:
        return
    acknowledged = held.referral_status == "received"
    outcome = "acknowledged" if acknowledged else "not-acknowledged"
    if store.release_held(conn, held.referral_id, outcome=outcome, now=now) and acknowledged:
        owe_all(conn, [acknowledgement(held.event_id, held.referral_id, held.person_id)], now)


# Contact details ---------------------------------------------------------------------------


def record_contact(conn: Connection, recipient: Recipient, now: datetime) -> None:
    if store.upsert_recipient(conn, recipient, now):
        store.expedite(conn, recipient.recipient_id, now)


# Events, registrations and their reminders ----------------------------------------------------


def event_scheduled(
    conn: Connection, art_event_id: str, details: dict[str, Any], *, as_of: datetime, now: datetime
) -> None:
    current = store.get_art_event(conn, art_event_id)
    if current is not None and (current.status == "cancelled" or current.as_of >= as_of):
        return
    store.put_art_event(conn, art_event_id, status="scheduled", as_of=as_of, **details)
    _follow_the_start(conn, art_event_id, details["starts_at"], as_of)
    store.expedite_event(conn, art_event_id, now)


def event_changed(
    conn: Connection, art_event_id: str, details: dict[str, Any], *, as_of: datetime, now: datetime
) -> bool:
    """Record the change; True when it is news to people registered (not a stale message)."""
    current = store.get_art_event(conn, art_event_id)
    if current is not None and (current.status == "cancelled" or current.as_of >= as_of):
        return False
    moved = current is None or current.starts_at != details["starts_at"]
    store.put_art_event(conn, art_event_id, status="scheduled", as_of=as_of, **details)
    if moved:
        # A reminder owed for the old time must not go out at it: a new one is owed for the new.
        store.skip_pending(
            conn,
            [store.deliveries.c.art_event_id == art_event_id, store.deliveries.c.kind == "event-reminder"],
            reason=policy.STALE,
            detail="the event moved",
            now=now,
        )
        _follow_the_start(conn, art_event_id, details["starts_at"], as_of)
    return True


def _follow_the_start(conn: Connection, art_event_id: str, starts_at: datetime, now: datetime) -> None:
    """Reminders follow the event's time; one already owed for another time is owed again."""
    for reminder in store.reminders_of_event(conn, art_event_id):
        if reminder.status == "cancelled" or (reminder.status == "sent" and reminder.sent_for == starts_at):
            continue
        store.put_reminder(
            conn,
            reminder.registration_id,
            art_event_id=art_event_id,
            recipient_id=reminder.recipient_id,
            audience=reminder.audience,
            starts_at=starts_at,
            booked_at=reminder.booked_at,
            status="scheduled",
            sent_for=reminder.sent_for,
            updated_at=now,
        )


def event_cancelled(
    conn: Connection, art_event_id: str, *, as_of: datetime, kind: str, starts_at: datetime, now: datetime
) -> bool:
    current = store.get_art_event(conn, art_event_id)
    if current is not None and current.status == "cancelled":
        return False
    if current is None:
        store.put_art_event(conn, art_event_id, kind=kind, starts_at=starts_at, status="cancelled", as_of=as_of)
    else:
        store.update_art_event(conn, art_event_id, status="cancelled", as_of=as_of)
    store.update_reminders(conn, [store.reminders.c.art_event_id == art_event_id], status="cancelled", updated_at=now)
    store.skip_pending(
        conn,
        [
            store.deliveries.c.art_event_id == art_event_id,
            store.deliveries.c.kind.in_(["event-reminder", "event-changed"]),
        ],
        reason=policy.STALE,
        detail="the event was cancelled",
        now=now,
    )
    return True


def registration_changed(
    conn: Connection,
    *,
    registration_id: str,
    art_event_id: str,
    recipient_id: str,
    audience: str,
    status: str,
    starts_at: datetime,
    as_of: datetime,
    cancel_reason: str | None = None,
) -> bool:
    """Record a registration's new state; False when the message is older than what we know
    (a cancellation is final: nothing older or later revives it)."""
    current = store.get_registration(conn, registration_id)
    if current is not None and (current.status == "cancelled" or current.as_of > as_of):
        return False
    store.put_registration(
        conn,
        registration_id,
        art_event_id=art_event_id,
        recipient_id=recipient_id,
        audience=audience,
        status=status,
        cancel_reason=cancel_reason,
        starts_at=starts_at,
        as_of=as_of,
    )
    return True


def schedule_reminder(
    conn: Connection,
    *,
    registration_id: str,
    art_event_id: str,
    recipient_id: str,
    audience: str,
    starts_at: datetime,
    booked_at: datetime,
    now: datetime,
) -> None:
    event = store.get_art_event(conn, art_event_id)
    if event is not None:
        starts_at = event.starts_at  # the event's own time is the latest word on it
    existing = store.get_reminder(conn, registration_id)
    if existing is not None and existing.status in ("cancelled", "sent"):
        return
    cancelled = event is not None and event.status == "cancelled"
    store.put_reminder(
        conn,
        registration_id,
        art_event_id=art_event_id,
        recipient_id=recipient_id,
        audience=audience,
        starts_at=starts_at,
        booked_at=booked_at,
        status="cancelled" if cancelled else "scheduled",
        sent_for=None,
        updated_at=now,
    )


def registration_cancelled(conn: Connection, registration_id: str, now: datetime) -> None:
    store.update_reminders(
        conn, [store.reminders.c.registration_id == registration_id], status="cancelled", updated_at=now
    )
    store.skip_pending(
        conn,
        [
            store.deliveries.c.registration_id == registration_id,
            store.deliveries.c.kind.in_(
                ["event-reminder", "registration-confirmed", "registration-promoted", "registration-waitlisted"]
            ),
        ],
        reason=policy.STALE,
        detail="the registration was cancelled",
        now=now,
    )


def send_due_reminders(conn: Connection, *, now: datetime, before: timedelta, limit: int = 200) -> int:
    """Owe each reminder that has fallen due; one whose event has begun is missed, one whose
    place was booked after it would have fallen due is not needed (the confirmation said it)."""
    due = store.due_reminders(conn, now + before, limit)
    for reminder in due:
        values = {"status": "sent", "sent_for": reminder.starts_at, "updated_at": now}
        if reminder.starts_at <= now:
            values = {"status": "missed", "updated_at": now}
        elif reminder.booked_at > reminder.starts_at - before:
            values = {"status": "not-needed", "updated_at": now}
        else:
            owe(
                conn,
                event_id=f"reminder:{reminder.registration_id}:{reminder.starts_at:%Y%m%dT%H%M%S}",
                kind="event-reminder",
                recipient_id=reminder.recipient_id,
                audience=reminder.audience,
                values={"starts_at": reminder.starts_at.isoformat()},
                now=now,
                art_event_id=reminder.art_event_id,
                registration_id=reminder.registration_id,
            )
        store.update_reminders(conn, [store.reminders.c.registration_id == reminder.registration_id], **values)
    return len(due)


# Digests -----------------------------------------------------------------------------------


def last_digest_slot(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The most recent daily digest time at or before ``now`` (site time)."""
    local = now.astimezone(zone)
    day = local.date() if local.time().replace(tzinfo=None) >= at else local.date() - timedelta(days=1)
    return datetime.combine(day, at, tzinfo=zone)


def make_digests(conn: Connection, *, now: datetime, at: time, zone: ZoneInfo) -> int:
    """Gather each coordinator's items up to the last digest time into that day's digest (one a day)."""
    slot = last_digest_slot(now, at, zone)
    items: dict[str, list[Any]] = {}
    for row in store.undigested(conn, slot):
        items.setdefault(row.recipient_id, []).append(row.id)
    made = 0
    for coordinator_id, ids in items.items():
        new = store.owe(
            conn,
            event_id=f"digest:{slot.date().isoformat()}",
            kind="digest",
            recipient_id=coordinator_id,
            audience="coordinator",
            channels=("email",),
            values={"day": slot.date().isoformat(), "count": len(ids)},
            now=now,
        )
        if new:  # else today's digest was made already: these wait for tomorrow's
            store.put_in_digest(conn, ids, new[0])
            made += 1
    return made


# Nobody reached: ask someone to phone --------------------------------------------------------


def ask_to_phone_if_unreached(conn: Connection, row: Any, siblings: Sequence[Any], now: datetime) -> None:
    """A message to a person that reached them on no channel (every channel failed, or none could
    be used and they agreed to be phoned) asks their mentor, or the coordinators, to phone."""
    if row.audience != "person" or row.kind in NOT_PHONED_ABOUT:
        return
    if any(s.status in (store.PENDING, store.SENT, store.DIGESTED) for s in siblings):
        return
    if not any(s.status == store.FAILED for s in siblings):
        if not all(s.reason in policy.UNREACHABLE for s in siblings):
            return  # they said no (opted out, stopped texts) or it no longer mattered
        recipient = store.get_recipient(conn, row.recipient_id)
        if recipient is None or "phone" not in recipient.channels:
            return
    values = {
        "about_kind": row.kind,
        **{k: v for k, v in (row.values or {}).items() if k in ("starts_at", "reference")},
    }
    event_id = f"{row.event_id}/{row.recipient_id}"
    mentor_id = store.active_mentor(conn, row.recipient_id)
    common = {"event_id": event_id, "kind": "please-phone", "values": values, "now": now}
    extra = {"about_id": row.recipient_id, "art_event_id": row.art_event_id}
    if mentor_id:
        owe(conn, recipient_id=mentor_id, audience="mentor", **common, **extra)
        return
    for coordinator_id in store.coordinator_ids(conn):
        owe(conn, recipient_id=coordinator_id, audience="coordinator", **common, **extra)


# Erasure and STOP --------------------------------------------------------------------------


def erase_person(conn: Connection, person_id: str, now: datetime) -> None:
    store.erase(conn, person_id, now)
    store.skip_pending(
        conn,
        [sa.or_(store.deliveries.c.recipient_id == person_id, store.deliveries.c.about_id == person_id)],
        reason=policy.PERSON_ERASED,
        detail="the person's data was erased",
        now=now,
    )
    store.update_reminders(conn, [store.reminders.c.recipient_id == person_id], status="cancelled", updated_at=now)


def text_received(
    conn: Connection, *, text_id: str, user_number: str, content: str, received_at: datetime | None, now: datetime
) -> str:
    """Honour STOP (and START) texted back; returns what was done. Only the provider's id of the
    text is kept, never the number or the words."""
    intent = inbound_intent(content)
    phone_key = normalise_phone(user_number)
    found = store.recipients_with_phone(conn, phone_key) if (intent and phone_key) else []
    if intent is None:
        outcome = "ignored"
    elif not found:
        outcome = "unknown-number"
    else:
        outcome = "stopped" if intent == "stop" else "started"
    if not store.record_inbound(conn, text_id, intent=intent, outcome=outcome, received_at=received_at, now=now):
        return "seen"
    if found:
        store.set_sms_stopped(conn, found, now if intent == "stop" else None)
    return outcome
