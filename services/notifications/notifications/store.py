"""Notifications' own tables: who can be reached how, and every message we owe or sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from notifications.domain import Recipient
from peerlink.db import UTCDateTime, insert_for, new_metadata

metadata = new_metadata()

recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("person_id", sa.String(36), primary_key=True),
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32)),
    sa.Column("preferred_language", sa.String(2)),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("safe_to_text", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# One row per (event, recipient, channel, kind): the unique key is what makes a
# redelivered event unable to cause a second message.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("event_id", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("person_id", sa.String(36), nullable=False, index=True),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("values", sa.JSON, nullable=False),
    sa.Column("languages", sa.String(10)),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("claimed_until", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime()),
    sa.UniqueConstraint("event_id", "person_id", "channel", "kind"),
    sa.Index("ix_deliveries_status_due_at", "status", "due_at"),
)

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"


def upsert_recipient(conn: Connection, recipient: Recipient, now: datetime) -> None:
    values = {
        "person_id": recipient.person_id,
        "given_name": recipient.given_name,
        "email": recipient.email,
        "phone": recipient.phone,
        "preferred_language": recipient.preferred_language,
        "channels": list(recipient.channels),
        "safe_to_text": recipient.safe_to_text,
        "updated_at": now,
    }
    insert = insert_for(conn.dialect.name, recipients).values(**values)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["person_id"], set_={k: v for k, v in values.items() if k != "person_id"}
        )
    )


def get_recipient(conn: Connection, person_id: str) -> Recipient | None:
    row = conn.execute(sa.select(recipients).where(recipients.c.person_id == person_id)).one_or_none()
    if row is None:
        return None
    return Recipient(
        person_id=row.person_id,
        given_name=row.given_name,
        email=row.email,
        phone=row.phone,
        preferred_language=row.preferred_language,
        channels=tuple(row.channels),
        safe_to_text=row.safe_to_text,
    )


def owe_message(
    conn: Connection, *, event_id: str, kind: str, person_id: str, channel: str, values: dict[str, Any], now: datetime
) -> None:
    """Record a message we owe. Whether it can go (contact details known, consent given) is
    decided when it is sent, so the order in which events arrive does not matter."""
    conn.execute(
        insert_for(conn.dialect.name, deliveries)
        .values(
            id=uuid.uuid4(),
            event_id=event_id,
            kind=kind,
            person_id=person_id,
            channel=channel,
            status=PENDING,
            values=values,
            attempts=0,
            due_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["event_id", "person_id", "channel", "kind"])
    )


def expedite(conn: Connection, person_id: str, now: datetime) -> None:
    """New contact details: what was waiting for them is due now."""
    conn.execute(
        deliveries.update()
        .where(deliveries.c.person_id == person_id, deliveries.c.status == PENDING, deliveries.c.due_at > now)
        .values(due_at=now)
    )


def due_ids(conn: Connection, now: datetime, limit: int) -> list[uuid.UUID]:
    return list(
        conn.execute(
            sa.select(deliveries.c.id)
            .where(
                deliveries.c.status == PENDING,
                deliveries.c.due_at <= now,
                sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
            )
            .order_by(deliveries.c.due_at)
            .limit(limit)
        ).scalars()
    )


def claim(conn: Connection, delivery_id: uuid.UUID, now: datetime, until: datetime) -> Any | None:
    """Take a delivery for sending and return it as it is now; None if it is no longer ours to send
    (another sender holds it, it was sent, or it is not yet due)."""
    return conn.execute(
        deliveries.update()
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.status == PENDING,
            deliveries.c.due_at <= now,
            sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        )
        .values(claimed_until=until)
        .returning(*deliveries.c)
    ).one_or_none()


def settle(conn: Connection, delivery_id: uuid.UUID, **values: Any) -> None:
    conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(claimed_until=None, **values))


def list_deliveries(
    conn: Connection, *, status: str | None, person_id: str | None, limit: int, offset: int
) -> list[Any]:
    query = sa.select(
        deliveries.c.id,
        deliveries.c.event_id,
        deliveries.c.kind,
        deliveries.c.person_id,
        deliveries.c.channel,
        deliveries.c.status,
        deliveries.c.languages,
        deliveries.c.attempts,
        deliveries.c.last_error,
        deliveries.c.created_at,
        deliveries.c.sent_at,
    )
    if status:
        query = query.where(deliveries.c.status == status)
    if person_id:
        query = query.where(deliveries.c.person_id == person_id)
    return list(conn.execute(query.order_by(deliveries.c.created_at.desc()).limit(limit).offset(offset)))
