"""The transactional outbox: events are rows written in the caller's own transaction.

Nothing here talks to the broker. If the transaction rolls back, the event never existed;
if it commits, the relay will publish it, however long the broker is away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from peerlink import context
from peerlink.contracts import EVENTS_EXCHANGE, SITE_ONLY_EXCHANGE, EventType
from peerlink.db import insert_for, write_connection
from peerlink.envelope import Envelope, new_event_id
from peerlink.tables import aggregate_sequences, outbox
from peerlink.wakeup import NOTIFY_CHANNEL


@dataclass(frozen=True)
class Producer:
    """Who emits: the site and the service, which make the CloudEvents ``source``."""

    site: str
    service: str

    @property
    def source(self) -> str:
        return f"/sites/{self.site}/{self.service}"


def emit(
    conn: Connection,
    producer: Producer,
    event_type: EventType,
    *,
    subject: str,
    data: dict[str, Any],
    causation_id: str | None = None,
    correlation_id: str | None = None,
    now: datetime | None = None,
    site_only: bool = False,
) -> Envelope:
    """Write one event into the outbox within ``conn``'s open transaction.

    ``site_only`` keeps a pseudonymous event at the site (``peerlink.site-only``): an event
    about a person who did not agree to be counted in the central office's figures.
    """
    wire_data = event_type.dump(data)
    subject = str(subject)
    envelope = Envelope(
        id=new_event_id(),
        source=producer.source,
        type=event_type.name,
        subject=subject,
        time=now or datetime.now(UTC),
        site=producer.site,
        sequence=int(
            conn.execute(
                _sequence_upsert(conn.dialect.name), {"aggregate": event_type.aggregate, "subject": subject}
            ).scalar_one()
        ),
        correlationid=correlation_id or context.correlation_id(),
        causationid=causation_id,
        data=wire_data,
    )
    conn.execute(
        outbox.insert(),
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "exchange": SITE_ONLY_EXCHANGE
            if site_only and event_type.exchange == EVENTS_EXCHANGE
            else event_type.exchange,
            "routing_key": event_type.routing_key(producer.site),
            "subject": subject,
            "sequence": envelope.sequence,
            "correlation_id": envelope.correlationid,
            "body": envelope.to_json().decode(),
            "created_at": envelope.time,
        },
    )
    _wake_the_relay(conn)
    return envelope


def _wake_the_relay(conn: Connection) -> None:
    """PostgreSQL delivers a NOTIFY to the relay's LISTEN when, and only if, the transaction
    commits; one per transaction (or savepoint) is enough. SQLite's relay sees commits itself."""
    if conn.dialect.name != "postgresql":
        return
    transaction = conn.get_nested_transaction() or conn.get_transaction()
    if conn.info.get(_NOTIFIED) is transaction:
        return
    conn.execute(_NOTIFY, {"channel": NOTIFY_CHANNEL})
    conn.info[_NOTIFIED] = transaction


_NOTIFIED = "peerlink_outbox_notified"
_NOTIFY = sa.text("SELECT pg_notify(:channel, '')")


@cache
def _sequence_upsert(dialect: str) -> sa.Executable:
    """Per-aggregate sequence; the row lock orders concurrent writers of one aggregate."""
    return (
        insert_for(dialect, aggregate_sequences)
        .values(aggregate=sa.bindparam("aggregate"), subject=sa.bindparam("subject"), last_sequence=1)
        .on_conflict_do_update(
            index_elements=["aggregate", "subject"],
            set_={"last_sequence": aggregate_sequences.c.last_sequence + 1},
        )
        .returning(aggregate_sequences.c.last_sequence)
    )


@dataclass
class UnitOfWork:
    """One explicit transaction for a state change and the events it causes.

    Rolls back on exit unless :meth:`commit` was called, so a forgotten commit loses the
    change *and* its events together, never one without the other.
    """

    engine: Engine
    producer: Producer
    causation_id: str | None = None
    correlation_id: str | None = None
    emitted: list[Envelope] = field(default_factory=list)
    connection: Connection = field(init=False)

    def __enter__(self) -> UnitOfWork:
        # Every event of one unit of work shares a correlation id, even outside a request.
        self.correlation_id = self.correlation_id or context.correlation_id() or context.new_correlation_id()
        self.connection = write_connection(self.engine)
        self._transaction = self.connection.begin()
        self._committed = False
        return self

    def emit(self, event_type: EventType, *, subject: str, data: dict[str, Any], site_only: bool = False) -> Envelope:
        envelope = emit(
            self.connection,
            self.producer,
            event_type,
            subject=subject,
            data=data,
            causation_id=self.causation_id,
            correlation_id=self.correlation_id,
            site_only=site_only,
        )
        self.emitted.append(envelope)
        return envelope

    def commit(self) -> None:
        self._transaction.commit()
        self._committed = True

    def __exit__(self, *exc: object) -> None:
        try:
            if not self._committed and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()
