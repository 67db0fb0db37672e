"""The transactional outbox: events are rows written in the caller's own transaction.

Nothing here talks to the broker. If the transaction rolls back, the event never existed;
if it commits, the relay will publish it, however long the broker is away.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from peerlink import context
from peerlink.contracts import EventType
from peerlink.db import is_sqlite, write_connection
from peerlink.envelope import Envelope, new_event_id
from peerlink.tables import aggregate_sequences, outbox

NOTIFY_CHANNEL = "peerlink_outbox"


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
) -> Envelope:
    """Write one event into the outbox within ``conn``'s open transaction."""
    wire_data = event_type.dump(data)
    envelope = Envelope(
        id=new_event_id(),
        source=producer.source,
        type=event_type.name,
        subject=str(subject),
        time=now or datetime.now(UTC),
        site=producer.site,
        sequence=_next_sequence(conn, event_type.aggregate, str(subject)),
        correlationid=correlation_id or context.correlation_id(),
        causationid=causation_id,
        data=wire_data,
    )
    conn.execute(
        outbox.insert().values(
            event_id=envelope.id,
            event_type=envelope.type,
            exchange=event_type.exchange,
            routing_key=event_type.routing_key(producer.site),
            subject=envelope.subject,
            sequence=envelope.sequence,
            correlation_id=envelope.correlationid,
            body=envelope.to_json().decode(),
            created_at=envelope.time,
        )
    )
    if conn.dialect.name == "postgresql":
        # Delivered to the relay's LISTEN only when (and if) this transaction commits.
        conn.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return envelope


def _next_sequence(conn: Connection, aggregate: str, subject: str) -> int:
    """Per-aggregate sequence; the row lock orders concurrent writers of one aggregate."""
    insert = (sqlite.insert if is_sqlite(conn) else postgresql.insert)(aggregate_sequences)
    statement = (
        insert.values(aggregate=aggregate, subject=subject, last_sequence=1)
        .on_conflict_do_update(
            index_elements=["aggregate", "subject"],
            set_={"last_sequence": aggregate_sequences.c.last_sequence + 1},
        )
        .returning(aggregate_sequences.c.last_sequence)
    )
    return int(conn.execute(statement).scalar_one())


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

    def emit(self, event_type: EventType, *, subject: str, data: dict[str, Any]) -> Envelope:
        envelope = emit(
            self.connection,
            self.producer,
            event_type,
            subject=subject,
            data=data,
            causation_id=self.causation_id,
            correlation_id=self.correlation_id,
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


@contextmanager
def unit_of_work(engine: Engine, producer: Producer) -> Iterator[UnitOfWork]:
    with UnitOfWork(engine, producer) as uow:
        yield uow
