"""Notifications' own tables, and the statements over them.

``deliveries`` is the heart: one row per (event, recipient, channel), the unique key that makes
a redelivered event unable to cause a second message. The rest is what deciding needs:
who can be reached how (``recipients``, ``preferences``), what events and registrations exist
(``art_events``, ``registrations``, ``reminders``), who mentors whom (``matches``), and two
records kept for their own sake (``language_decisions``, ``inbound_texts``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from notifications.domain.policy import PERSON_ERASED
from notifications.domain.recipients import NO_PREFERENCES, Preferences, QuietHours, Recipient
from notifications.domain.sms import normalise_phone
from notifications.wakeup import something_is_due
from peerlink.audit import audit_table
from peerlink.db import UTCDateTime, insert_for, new_metadata

metadata = new_metadata()

# Who read or changed a recipient's record (ids and staff only: peerlink.audit).
audit_log = audit_table(metadata)

recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("recipient_id", sa.String(36), primary_key=True),
    sa.Column("audience", sa.String(12), nullable=False, index=True),
    sa.Column("given_name", sa.String(100)),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32)),
    sa.Column("phone_key", sa.String(20), index=True),  # E.164, to find who texted STOP
    sa.Column("preferred_language", sa.String(2)),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("safe_to_text", sa.Boolean, nullable=False),
    sa.Column("sms_stopped_at", UTCDateTime()),
    sa.Column("erased_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("recipient_id", sa.String(36), primary_key=True),
    sa.Column("channels", sa.JSON),  # null: every channel consented to
    sa.Column("language", sa.String(2)),
    sa.Column("quiet_hours", sa.String(11)),  # "21:00-08:00"
    sa.Column("opt_out", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(10), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    # The event that caused it, or a key of ours: reminder:<registration>:<start>, digest:<day>,
    # <event>/<person> for a call asked for about a message that reached nobody.
    sa.Column("event_id", sa.String(160), nullable=False),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("recipient_id", sa.String(36), nullable=False, index=True),
    sa.Column("audience", sa.String(12), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("reason", sa.String(30)),
    sa.Column("values", sa.JSON, nullable=False),
    sa.Column("about_id", sa.String(36), index=True),  # whom a message to someone else names
    sa.Column("art_event_id", sa.String(36), index=True),
    sa.Column("registration_id", sa.String(36), index=True),
    sa.Column("digest_id", sa.Uuid, index=True),  # the digest a coordinator's item went into
    # About someone who did not agree to be counted centrally: its events stay at the site.
    sa.Column("site_only", sa.Boolean, nullable=False, default=False),
    sa.Column("languages", sa.String(10)),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text),
    sa.Column("segments", sa.Integer),
    sa.Column("provider", sa.String(20)),
    sa.Column("provider_ref", sa.String(100)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("claimed_until", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime()),
    sa.Column("settled_at", UTCDateTime()),
    # No event owes one recipient two kinds of message; what we owe ourselves (reminders, digests,
    # calls asked for) has an event id of its own (see the column above).
    sa.UniqueConstraint("event_id", "recipient_id", "channel"),
    sa.Index("ix_deliveries_status_channel_due_at", "status", "channel", "due_at"),
)

art_events = sa.Table(
    "art_events",
    metadata,
    sa.Column("art_event_id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("title_cy", sa.String(200)),
    sa.Column("title_en", sa.String(200)),
    sa.Column("venue", sa.String(200)),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime()),
    sa.Column("status", sa.String(12), nullable=False),  # scheduled, cancelled
    sa.Column("as_of", UTCDateTime(), nullable=False),  # the time of the event message it reflects
)

registrations = sa.Table(
    "registrations",
    metadata,
    sa.Column("registration_id", sa.String(36), primary_key=True),
    sa.Column("art_event_id", sa.String(36), nullable=False, index=True),
    sa.Column("recipient_id", sa.String(36), nullable=False, index=True),
    sa.Column("audience", sa.String(12), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # confirmed, waitlisted, cancelled
    sa.Column("cancel_reason", sa.String(30)),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),
)

# A reminder falls due PEERLINK_REMINDER_BEFORE before ``starts_at``: both are here, so a
# worker restart loses none, and a moved event moves its reminders by moving ``starts_at``.
reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("registration_id", sa.String(36), primary_key=True),
    sa.Column("art_event_id", sa.String(36), nullable=False, index=True),
    sa.Column("recipient_id", sa.String(36), nullable=False, index=True),
    sa.Column("audience", sa.String(12), nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("booked_at", UTCDateTime(), nullable=False),  # when the place was confirmed
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("sent_for", UTCDateTime()),  # the start time the last reminder was owed for
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_reminders_status_starts_at", "status", "starts_at"),
)

# Whether each person referred in agreed to be counted in the central office's figures (from
# referral.received): events about those who did not go to peerlink.site-only.
counted = sa.Table(
    "counted",
    metadata,
    sa.Column("person_id", sa.String(36), primary_key=True),
    sa.Column("counted", sa.Boolean, nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),
)

# A possible duplicate's acknowledgement (``referral.received`` with ``known_person``): it may be a
# namesake's referral, or anyone's in her name, so it is held until ``referral.person-resolved``
# says whose it is, then owed to them. Either may arrive first; each fills its half of the row.
held_acknowledgements = sa.Table(
    "held_acknowledgements",
    metadata,
    sa.Column("referral_id", sa.String(36), primary_key=True),
    sa.Column("event_id", sa.String(160)),  # the referral.received's: the acknowledgement's own
    sa.Column("linked_person_id", sa.String(36), index=True),  # whom intake linked it to
    sa.Column("held_at", UTCDateTime()),
    sa.Column("person_id", sa.String(36)),  # whose it is, as the coordinator answered
    sa.Column("resolution", sa.String(20)),
    sa.Column("referral_status", sa.String(12)),  # at the answer: received, or withdrawn meanwhile
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("released_at", UTCDateTime()),
    sa.Column("outcome", sa.String(20)),  # acknowledged, or not-acknowledged (withdrawn before the answer)
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("match_id", sa.String(36), primary_key=True),
    sa.Column("person_id", sa.String(36), nullable=False, index=True),
    sa.Column("mentor_id", sa.String(36), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # confirmed, ended
    sa.Column("as_of", UTCDateTime(), nullable=False),
)

# Welsh Language Standards: every "preference unknown, so both, Welsh first" decision.
language_decisions = sa.Table(
    "language_decisions",
    metadata,
    sa.Column("delivery_id", sa.Uuid, primary_key=True),
    sa.Column("recipient_id", sa.String(36), nullable=False, index=True),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("languages", sa.String(10), nullable=False),
    sa.Column("reason", sa.String(30), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=False, index=True),
)

# Texts people sent us, by the provider's id only (never their number or words).
inbound_texts = sa.Table(
    "inbound_texts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("intent", sa.String(10)),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("received_at", UTCDateTime()),
    sa.Column("handled_at", UTCDateTime(), nullable=False),
)

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
DIGESTED = "digested"  # a coordinator's item, waiting for (or gone in) their daily digest
STATUSES = (PENDING, SENT, FAILED, SKIPPED, DIGESTED)


# Recipients ---------------------------------------------------------------------------------


def upsert_recipient(conn: Connection, recipient: Recipient, now: datetime) -> bool:
    """Store contact details (new or changed); False if the person was erased (nothing stored)."""
    existing = conn.execute(
        sa.select(recipients.c.erased_at).where(recipients.c.recipient_id == recipient.recipient_id)
    ).one_or_none()
    if existing is not None and existing.erased_at is not None:
        return False
    values = {
        "audience": recipient.audience,
        "given_name": recipient.given_name,
        "email": recipient.email,
        "phone": recipient.phone,
        "phone_key": normalise_phone(recipient.phone),
        "preferred_language": recipient.preferred_language,
        "channels": list(recipient.channels),
        "safe_to_text": recipient.safe_to_text,
        "updated_at": now,
    }
    insert = insert_for(conn.dialect.name, recipients).values(recipient_id=recipient.recipient_id, **values)
    # A STOP texted back stays in force whatever the contact details say later.
    conn.execute(insert.on_conflict_do_update(index_elements=["recipient_id"], set_=values))
    return True


def _recipient(row: Any) -> Recipient:
    return Recipient(
        recipient_id=row.recipient_id,
        audience=row.audience,
        given_name=row.given_name,
        email=row.email,
        phone=row.phone,
        preferred_language=row.preferred_language,
        channels=tuple(row.channels or ()),
        safe_to_text=bool(row.safe_to_text),
        sms_stopped=row.sms_stopped_at is not None,
        erased=row.erased_at is not None,
    )


def get_recipient(conn: Connection, recipient_id: str) -> Recipient | None:
    row = conn.execute(sa.select(recipients).where(recipients.c.recipient_id == recipient_id)).one_or_none()
    return _recipient(row) if row else None


def consented_channels(conn: Connection, recipient_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The channels each agreed to, for those whose details are known (and not erased)."""
    wanted = sorted(set(recipient_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(recipients.c.recipient_id, recipients.c.channels).where(
            recipients.c.recipient_id.in_(wanted), recipients.c.erased_at.is_(None)
        )
    )
    return {row.recipient_id: tuple(row.channels or ()) for row in rows}


def recipients_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, Recipient]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(recipients).where(recipients.c.recipient_id.in_(wanted)))
    return {row.recipient_id: _recipient(row) for row in rows}


def recipient_rows(conn: Connection, audience: str) -> list[Any]:
    return list(
        conn.execute(
            sa.select(recipients)
            .where(recipients.c.audience == audience, recipients.c.erased_at.is_(None))
            .order_by(recipients.c.given_name)
        )
    )


def coordinator_ids(conn: Connection) -> list[str]:
    return list(
        conn.execute(
            sa.select(recipients.c.recipient_id).where(
                recipients.c.audience == "coordinator", recipients.c.erased_at.is_(None)
            )
        ).scalars()
    )


def recipients_with_phone(conn: Connection, phone_key: str) -> list[str]:
    return list(conn.execute(sa.select(recipients.c.recipient_id).where(recipients.c.phone_key == phone_key)).scalars())


def set_sms_stopped(conn: Connection, recipient_ids: Sequence[str], at: datetime | None) -> None:
    conn.execute(
        recipients.update().where(recipients.c.recipient_id.in_(list(recipient_ids))).values(sms_stopped_at=at)
    )


def expedite(conn: Connection, recipient_id: str, now: datetime) -> None:
    """New contact details: what was waiting for them is due now."""
    something_is_due(conn)
    conn.execute(
        deliveries.update()
        .where(
            deliveries.c.recipient_id == recipient_id,
            deliveries.c.status == PENDING,
            deliveries.c.reason == "waiting-for-contact",
            deliveries.c.due_at > now,
        )
        .values(due_at=now)
    )


def expedite_event(conn: Connection, art_event_id: str, now: datetime) -> None:
    """An event's details arrived: what was waiting for them is due now."""
    result = conn.execute(
        deliveries.update()
        .where(
            deliveries.c.art_event_id == art_event_id,
            deliveries.c.status == PENDING,
            deliveries.c.reason == "waiting-for-event",
            deliveries.c.due_at > now,
        )
        .values(due_at=now)
    )
    if result.rowcount:
        something_is_due(conn)


# Preferences ------------------------------------------------------------------------------


def _preferences(row: Any) -> Preferences:
    return Preferences(
        channels=tuple(row.channels) if row.channels is not None else None,
        language=row.language,
        quiet_hours=QuietHours.parse(row.quiet_hours) if row.quiet_hours else None,
        opt_out=frozenset(row.opt_out or ()),
        digest=row.digest,
    )


def get_preferences(conn: Connection, recipient_id: str) -> tuple[Preferences, Any] | None:
    row = conn.execute(sa.select(preferences).where(preferences.c.recipient_id == recipient_id)).one_or_none()
    return (_preferences(row), row) if row else None


def preferences_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, Preferences]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(preferences).where(preferences.c.recipient_id.in_(wanted)))
    return {row.recipient_id: _preferences(row) for row in rows}


def put_preferences(conn: Connection, recipient_id: str, chosen: Preferences, *, now: datetime, by: str) -> None:
    values = {
        "channels": list(chosen.channels) if chosen.channels is not None else None,
        "language": chosen.language,
        "quiet_hours": str(chosen.quiet_hours) if chosen.quiet_hours else None,
        "opt_out": sorted(chosen.opt_out),
        "digest": chosen.digest,
        "updated_at": now,
        "updated_by": by,
    }
    insert = insert_for(conn.dialect.name, preferences).values(recipient_id=recipient_id, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=["recipient_id"], set_=values))


def preferences_of(conn: Connection, recipient_id: str) -> Preferences:
    found = get_preferences(conn, recipient_id)
    return found[0] if found else NO_PREFERENCES


# Deliveries owed --------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    """One message owed to one recipient (a delivery on each of ``channels``)."""

    event_id: str
    kind: str
    recipient_id: str
    audience: str
    channels: tuple[str, ...]
    values: dict[str, Any]
    due_at: datetime | None = None
    about_id: str | None = None
    art_event_id: str | None = None
    registration_id: str | None = None
    # Channels already decided (channel: reason, detail): recorded as skipped at once.
    settled: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The person referred in whom the message concerns (the recipient, or whom it is about),
    # if any: their consent to be counted centrally decides where its events go.
    concerns: str | None = None
    site_only: bool = False


def owe_all(conn: Connection, messages: Sequence[Owed], now: datetime) -> list[uuid.UUID]:
    """Record messages owed, one delivery per channel, in one statement; returns the ids of the
    deliveries that were new (the unique key makes a message owed twice a message owed once).
    Whether each can go (details known, consent given) is decided when it falls due."""
    rows = [
        {
            "id": uuid.uuid4(),
            "event_id": message.event_id,
            "kind": message.kind,
            "recipient_id": message.recipient_id,
            "audience": message.audience,
            "channel": channel,
            "status": SKIPPED if channel in message.settled else PENDING,
            "reason": message.settled[channel][0] if channel in message.settled else None,
            "last_error": message.settled[channel][1] if channel in message.settled else None,
            "settled_at": now if channel in message.settled else None,
            "values": message.values,
            "about_id": message.about_id,
            "art_event_id": message.art_event_id,
            "registration_id": message.registration_id,
            "attempts": 0,
            "due_at": message.due_at or now,
            "created_at": now,
            "claimed_until": None,
            "site_only": message.site_only,
        }
        for message in messages
        for channel in message.channels
    ]
    if not rows:
        return []
    # executemany with one statement, compiled once (SQLAlchemy batches it as "insertmanyvalues").
    new = list(conn.execute(_owe_statement(conn.dialect.name), rows).scalars())
    if new:
        something_is_due(conn)
    return new


@cache
def _owe_statement(dialect: str) -> Any:
    return (
        insert_for(dialect, deliveries)
        .on_conflict_do_nothing(index_elements=["event_id", "recipient_id", "channel"])
        .returning(deliveries.c.id)
    )


def owe(conn: Connection, *, channels: Sequence[str], now: datetime, **message: Any) -> list[uuid.UUID]:
    return owe_all(conn, [Owed(channels=tuple(channels), **message)], now)


# Claims. A sender holds a delivery by its lease: ``claimed_until`` as it set it. It renews the
# lease just before sending and writes an outcome only while ``claimed_until`` is still that
# value, so a sender whose claim ran out (and was taken by another) neither sends nor overwrites.
# A later claim's lease is always later than the one it replaces (it is made only once that one
# has passed), so two claims never share a value.


def claim_due(conn: Connection, channel: str, now: datetime, until: datetime, limit: int) -> list[Any]:
    """Take up to ``limit`` due deliveries of ``channel`` for sending (a lease, so that a second
    sender leaves them alone) and return them as they are now (``claimed_until`` is the lease)."""
    due = sa.and_(
        deliveries.c.status == PENDING,
        deliveries.c.channel == channel,
        deliveries.c.due_at <= now,
        sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
    )
    candidates = sa.select(deliveries.c.id).where(due).order_by(deliveries.c.due_at).limit(limit)
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    rows = conn.execute(
        deliveries.update()
        .where(deliveries.c.id.in_(candidates.scalar_subquery()), due)
        .values(claimed_until=until)
        .returning(*deliveries.c)
    ).all()
    return sorted(rows, key=lambda row: (row.due_at, str(row.id)))


def renew(conn: Connection, delivery_id: uuid.UUID, lease: datetime, until: datetime) -> bool:
    """Hold a delivery ``until`` a later time, just before sending it; False if it is no longer
    ours to send (the claim ran out and another sender took it, or it was skipped meanwhile: the
    person erased, the event cancelled)."""
    result = conn.execute(_renew_statement(), {"delivery_id": delivery_id, "lease": lease, "until": until})
    return result.rowcount == 1


@cache
def _renew_statement() -> Any:
    """Built once: it runs before every send."""
    return (
        deliveries.update()
        .where(
            deliveries.c.id == sa.bindparam("delivery_id"),
            deliveries.c.claimed_until == sa.bindparam("lease", type_=UTCDateTime()),
            deliveries.c.status == PENDING,
        )
        .values(claimed_until=sa.bindparam("until", type_=UTCDateTime()))
    )


def settle(conn: Connection, delivery_id: uuid.UUID, lease: datetime, **values: Any) -> bool:
    """Record what became of a delivery we hold (not sent: put off, skipped, failed); False, and
    nothing written, if we no longer hold it."""
    result = conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery_id, deliveries.c.claimed_until == lease, deliveries.c.status == PENDING)
        .values(claimed_until=None, **values)
    )
    return result.rowcount == 1


def settle_sent(conn: Connection, delivery_id: uuid.UUID, lease: datetime, *, kind: str, **sent: Any) -> bool:
    """Record a message the provider accepted (``sent``: its subject, body, attempts, sent_at,
    languages, segments, provider and provider_ref); False, and nothing written, if another
    sender had taken it meanwhile (our claim ran out mid-send).

    A delivery skipped while it was being sent (``skip_pending`` leaves the claim in place) is
    recorded as sent, for it went; but what it said is not kept if the person it is to or about
    was erased meanwhile (the erasure skipped it as ``person-erased``), nor for a digest naming
    someone erased."""
    result = conn.execute(_sent_statement(), {"delivery_id": delivery_id, "lease": lease, **sent})
    if result.rowcount != 1:
        return False
    if kind == "digest":
        # A second statement, so that it sees an erasure that committed while the first waited
        # for the row (a statement's subqueries see only what had committed when it began).
        conn.execute(_forget_statement(), {"delivery_id": delivery_id})
    return True


@cache
def _sent_statement() -> Any:
    """Built once: it runs after every send."""
    erased = deliveries.c.reason == PERSON_ERASED  # the row as it was: SET reads the old values

    def unless_erased(name: str, type_: Any) -> Any:
        return sa.case((erased, sa.null()), else_=sa.bindparam(name, type_=type_))

    return (
        deliveries.update()
        .where(
            deliveries.c.id == sa.bindparam("delivery_id"),
            deliveries.c.claimed_until == sa.bindparam("lease", type_=UTCDateTime()),
            deliveries.c.status.in_([PENDING, SKIPPED]),
        )
        .values(
            claimed_until=None,
            status=SENT,
            reason=None,
            last_error=None,
            subject=unless_erased("subject", sa.Text()),
            body=unless_erased("body", sa.Text()),
            attempts=sa.bindparam("attempts"),
            sent_at=sa.bindparam("sent_at", type_=UTCDateTime()),
            settled_at=sa.bindparam("sent_at", type_=UTCDateTime()),
            languages=sa.bindparam("languages"),
            segments=sa.bindparam("segments"),
            provider=sa.bindparam("provider"),
            provider_ref=sa.bindparam("provider_ref"),
        )
    )


@cache
def _forget_statement() -> Any:
    """The subject and body of a delivery to or naming someone erased (as ``erase`` would have
    cleared them, had they been written before it)."""
    erased = recipients.c.erased_at.isnot(None)
    items = deliveries.alias("items")
    names_the_erased = sa.or_(
        sa.exists().where(recipients.c.recipient_id == deliveries.c.recipient_id, erased),
        sa.exists().where(recipients.c.recipient_id == deliveries.c.about_id, erased),
        sa.exists().where(items.c.digest_id == deliveries.c.id, recipients.c.recipient_id == items.c.about_id, erased),
    )
    return (
        deliveries.update()
        .where(deliveries.c.id == sa.bindparam("delivery_id"), names_the_erased)
        .values(subject=None, body=None, last_error=None)
    )


def get_delivery(conn: Connection, delivery_id: uuid.UUID) -> Any | None:
    return conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).one_or_none()


def lock_message(conn: Connection, row: Any) -> list[Any]:
    """Every channel's delivery of one message, locked in id order (so that two senders settling
    two channels of one message queue instead of deadlocking)."""
    query = (
        sa.select(deliveries)
        .where(
            deliveries.c.event_id == row.event_id,
            deliveries.c.recipient_id == row.recipient_id,
            deliveries.c.kind == row.kind,
        )
        .order_by(deliveries.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return list(conn.execute(query))


def skip_pending(conn: Connection, where: Sequence[Any], *, reason: str, detail: str, now: datetime) -> int:
    """Owed deliveries that are no longer true (a cancelled event, an erased person). A claim is
    left as it is: a sender holding one of these no longer sends it (``renew``), and if it was
    already sending, records that it went (``settle_sent``)."""
    result = conn.execute(
        deliveries.update()
        .where(deliveries.c.status == PENDING, *where)
        .values(status=SKIPPED, reason=reason, last_error=detail, settled_at=now)
    )
    return int(result.rowcount or 0)


def digest_items(conn: Connection, digest_id: uuid.UUID) -> list[Any]:
    return list(
        conn.execute(sa.select(deliveries).where(deliveries.c.digest_id == digest_id).order_by(deliveries.c.created_at))
    )


def undigested(conn: Connection, up_to: datetime) -> list[Any]:
    return list(
        conn.execute(
            sa.select(deliveries.c.id, deliveries.c.recipient_id)
            .where(
                deliveries.c.status == DIGESTED,
                deliveries.c.digest_id.is_(None),
                deliveries.c.created_at <= up_to,
            )
            .order_by(deliveries.c.recipient_id, deliveries.c.created_at)
        )
    )


def put_in_digest(conn: Connection, item_ids: Sequence[uuid.UUID], digest_id: uuid.UUID) -> None:
    conn.execute(deliveries.update().where(deliveries.c.id.in_(list(item_ids))).values(digest_id=digest_id))


# Events, registrations, reminders, matches --------------------------------------------------


def art_events_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, Any]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {
        row.art_event_id: row
        for row in conn.execute(sa.select(art_events).where(art_events.c.art_event_id.in_(wanted)))
    }


def get_art_event(conn: Connection, art_event_id: str) -> Any | None:
    return conn.execute(sa.select(art_events).where(art_events.c.art_event_id == art_event_id)).one_or_none()


def put_art_event(conn: Connection, art_event_id: str, **values: Any) -> None:
    insert = insert_for(conn.dialect.name, art_events).values(art_event_id=art_event_id, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=["art_event_id"], set_=values))


def update_art_event(conn: Connection, art_event_id: str, **values: Any) -> None:
    conn.execute(art_events.update().where(art_events.c.art_event_id == art_event_id).values(**values))


def registrations_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, Any]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = conn.execute(sa.select(registrations).where(registrations.c.registration_id.in_(wanted)))
    return {row.registration_id: row for row in rows}


def get_registration(conn: Connection, registration_id: str) -> Any | None:
    return conn.execute(
        sa.select(registrations).where(registrations.c.registration_id == registration_id)
    ).one_or_none()


def put_registration(conn: Connection, registration_id: str, **values: Any) -> None:
    insert = insert_for(conn.dialect.name, registrations).values(registration_id=registration_id, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=["registration_id"], set_=values))


def registrants(conn: Connection, art_event_id: str) -> list[Any]:
    """Who holds or waits for a place (or lost it only because the event was cancelled)."""
    return list(
        conn.execute(
            sa.select(registrations)
            .where(
                registrations.c.art_event_id == art_event_id,
                sa.or_(
                    registrations.c.status.in_(["confirmed", "waitlisted"]),
                    registrations.c.cancel_reason == "event-cancelled",
                ),
            )
            .order_by(registrations.c.registration_id)
        )
    )


def get_reminder(conn: Connection, registration_id: str) -> Any | None:
    return conn.execute(sa.select(reminders).where(reminders.c.registration_id == registration_id)).one_or_none()


def put_reminder(conn: Connection, registration_id: str, **values: Any) -> None:
    insert = insert_for(conn.dialect.name, reminders).values(registration_id=registration_id, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=["registration_id"], set_=values))


def update_reminders(conn: Connection, where: Sequence[Any], **values: Any) -> int:
    return int(conn.execute(reminders.update().where(*where).values(**values)).rowcount or 0)


def reminders_of_event(conn: Connection, art_event_id: str) -> list[Any]:
    return list(conn.execute(sa.select(reminders).where(reminders.c.art_event_id == art_event_id)))


def due_reminders(conn: Connection, horizon: datetime, limit: int) -> list[Any]:
    """Scheduled reminders for events starting by ``horizon`` (now + the lead time)."""
    query = (
        sa.select(reminders)
        .where(reminders.c.status == "scheduled", reminders.c.starts_at <= horizon)
        .order_by(reminders.c.starts_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query))


def list_reminders(
    conn: Connection, *, art_event_id: str | None, status: str | None, limit: int, offset: int
) -> list[Any]:
    query = sa.select(reminders)
    if art_event_id:
        query = query.where(reminders.c.art_event_id == art_event_id)
    if status:
        query = query.where(reminders.c.status == status)
    return list(
        conn.execute(query.order_by(reminders.c.starts_at, reminders.c.registration_id).limit(limit).offset(offset))
    )


def put_match(conn: Connection, match_id: str, **values: Any) -> None:
    insert = insert_for(conn.dialect.name, matches).values(match_id=match_id, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=["match_id"], set_=values))


def get_match(conn: Connection, match_id: str) -> Any | None:
    return conn.execute(sa.select(matches).where(matches.c.match_id == match_id)).one_or_none()


def record_counted(conn: Connection, decisions: dict[str, tuple[bool, datetime]]) -> None:
    """Each person's latest word on being counted (a later referral may change it)."""
    for person_id, (is_counted, as_of) in decisions.items():
        insert = insert_for(conn.dialect.name, counted).values(person_id=person_id, counted=is_counted, as_of=as_of)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["person_id"],
                set_={"counted": is_counted, "as_of": as_of},
                where=counted.c.as_of <= as_of,
            )
        )


def counted_people(conn: Connection, person_ids: Iterable[str]) -> set[str]:
    """Of these, the people known to have agreed to be counted centrally."""
    wanted = sorted({p for p in person_ids if p})
    if not wanted:
        return set()
    return set(
        conn.execute(sa.select(counted.c.person_id).where(counted.c.person_id.in_(wanted), counted.c.counted)).scalars()
    )


def hold_or_answer(conn: Connection, referral_id: str, **half: Any) -> Any:
    """Record one half of a held acknowledgement (held, or answered); returns the row as it now
    is. A second writer of the same referral waits for the first's row lock and sees both halves."""
    statement = insert_for(conn.dialect.name, held_acknowledgements).values(referral_id=referral_id, **half)
    return conn.execute(
        statement.on_conflict_do_update(index_elements=["referral_id"], set_=half).returning(*held_acknowledgements.c)
    ).one()


def release_held(conn: Connection, referral_id: str, *, outcome: str, now: datetime) -> bool:
    """Mark a held acknowledgement released; False when it was already (the other half's writer)."""
    released = conn.execute(
        held_acknowledgements.update()
        .where(held_acknowledgements.c.referral_id == referral_id, held_acknowledgements.c.released_at.is_(None))
        .values(released_at=now, outcome=outcome)
    )
    return released.rowcount == 1


def active_mentor(conn: Connection, person_id: str) -> str | None:
    return conn.execute(
        sa.select(matches.c.mentor_id)
        .where(matches.c.person_id == person_id, matches.c.status == "confirmed")
        .order_by(matches.c.as_of.desc())
        .limit(1)
    ).scalar_one_or_none()


# Records ----------------------------------------------------------------------------------


def record_language_decision(conn: Connection, row: Any, languages: str, now: datetime) -> None:
    conn.execute(
        insert_for(conn.dialect.name, language_decisions)
        .values(
            delivery_id=row.id,
            recipient_id=row.recipient_id,
            kind=row.kind,
            channel=row.channel,
            languages=languages,
            reason="preference-unknown",
            decided_at=now,
        )
        .on_conflict_do_nothing(index_elements=["delivery_id"])
    )


def list_language_decisions(
    conn: Connection, *, recipient_id: str | None, since: datetime | None, limit: int, offset: int
) -> list[Any]:
    query = sa.select(language_decisions)
    if recipient_id:
        query = query.where(language_decisions.c.recipient_id == recipient_id)
    if since:
        query = query.where(language_decisions.c.decided_at >= since)
    return list(conn.execute(query.order_by(language_decisions.c.decided_at.desc()).limit(limit).offset(offset)))


def inbound_seen(conn: Connection, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    return set(conn.execute(sa.select(inbound_texts.c.id).where(inbound_texts.c.id.in_(list(ids)))).scalars())


def record_inbound(
    conn: Connection, text_id: str, *, intent: str | None, outcome: str, received_at: datetime | None, now: datetime
) -> bool:
    result = conn.execute(
        insert_for(conn.dialect.name, inbound_texts)
        .values(id=text_id, intent=intent, outcome=outcome, received_at=received_at, handled_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return bool(result.rowcount)


# The delivery log -------------------------------------------------------------------------

LOG_COLUMNS = (
    deliveries.c.id,
    deliveries.c.event_id,
    deliveries.c.kind,
    deliveries.c.recipient_id,
    deliveries.c.audience,
    deliveries.c.channel,
    deliveries.c.status,
    deliveries.c.reason,
    deliveries.c.languages,
    deliveries.c.attempts,
    deliveries.c.last_error,
    deliveries.c.segments,
    deliveries.c.provider,
    deliveries.c.art_event_id,
    deliveries.c.registration_id,
    deliveries.c.digest_id,
    deliveries.c.site_only,
    deliveries.c.due_at,
    deliveries.c.created_at,
    deliveries.c.sent_at,
    deliveries.c.settled_at,
)


def _log_filters(filters: dict[str, Any]) -> list[Any]:
    where = []
    for name in ("status", "kind", "channel", "recipient_id", "event_id", "reason", "audience", "art_event_id"):
        if filters.get(name) is not None:
            where.append(deliveries.c[name] == str(filters[name]))
    if filters.get("since") is not None:
        where.append(deliveries.c.created_at >= filters["since"])
    if filters.get("until") is not None:
        where.append(deliveries.c.created_at < filters["until"])
    return where


def list_deliveries(conn: Connection, filters: dict[str, Any], *, limit: int, offset: int) -> tuple[list[Any], int]:
    where = _log_filters(filters)
    total = conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(*LOG_COLUMNS)
        .where(*where)
        .order_by(deliveries.c.created_at.desc(), deliveries.c.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


def delivery_counts(conn: Connection, filters: dict[str, Any]) -> list[Any]:
    where = _log_filters(filters)
    return list(
        conn.execute(
            sa.select(deliveries.c.kind, deliveries.c.channel, deliveries.c.status, sa.func.count().label("count"))
            .where(*where)
            .group_by(deliveries.c.kind, deliveries.c.channel, deliveries.c.status)
            .order_by(deliveries.c.kind, deliveries.c.channel, deliveries.c.status)
        )
    )


# Erasure ----------------------------------------------------------------------------------


def erase(conn: Connection, person_id: str, now: datetime) -> None:
    """Contact details and message bodies go; who-got-what-when stays as ids and counts."""
    erased = {
        "given_name": None,
        "email": None,
        "phone": None,
        "phone_key": None,
        "preferred_language": None,
        "channels": [],
        "safe_to_text": False,
        "erased_at": now,
        "updated_at": now,
    }
    insert = insert_for(conn.dialect.name, recipients).values(recipient_id=person_id, audience="person", **erased)
    conn.execute(insert.on_conflict_do_update(index_elements=["recipient_id"], set_=erased))
    conn.execute(preferences.delete().where(preferences.c.recipient_id == person_id))
    about = sa.or_(deliveries.c.recipient_id == person_id, deliveries.c.about_id == person_id)
    digests = sa.select(deliveries.c.digest_id).where(
        deliveries.c.about_id == person_id, deliveries.c.digest_id.isnot(None)
    )
    conn.execute(
        deliveries.update()
        .where(sa.or_(about, deliveries.c.id.in_(digests.scalar_subquery())))
        .values(subject=None, body=None, last_error=None)
    )
