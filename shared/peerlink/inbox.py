"""Handling a batch of events in one transaction, each event once (the inbox).

The batch first runs optimistically: the events recorded in the inbox with one statement
that also says which were new, every new event's handler straight in the transaction, one
commit. If a handler raises, that transaction is rolled
back whole and the batch runs again with each handler in its own savepoint, so that the
failures are known and the rest still commit. Savepoints cost two round trips an event,
which is most of a batch's time on PostgreSQL; failures are rare, so they are paid only then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from peerlink import context
from peerlink.db import is_connection_failure, write_transaction
from peerlink.outbox import Producer
from peerlink.subscriptions import Event, HandlerContext, Subscriptions
from peerlink.tables import inbox


@dataclass(frozen=True)
class Outcome:
    handled: list[Event]
    duplicates: int
    failures: list[tuple[Event, Exception]]


class _HandlerFailed(Exception):
    """Abandons the optimistic run (rolling its transaction back)."""


# What _call yields for an event the inbox already had (in the isolated run).
_ALREADY_HANDLED = object()


def handle_batch(engine: Engine, subscriptions: Subscriptions, producer: Producer, events: Sequence[Event]) -> Outcome:
    """Run the handlers of ``events`` (in order) and record them; database failures propagate."""
    if not events:
        return Outcome([], 0, [])
    try:
        return _run(engine, subscriptions, producer, events, isolate=False)
    except _HandlerFailed:
        return _run(engine, subscriptions, producer, events, isolate=True)


def _run(
    engine: Engine, subscriptions: Subscriptions, producer: Producer, events: Sequence[Event], *, isolate: bool
) -> Outcome:
    handled: list[Event] = []
    failures: list[tuple[Event, Exception]] = []
    candidates = _distinct(events)
    with write_transaction(engine) as conn:
        if isolate:
            # Each event's inbox row rides in its handler's savepoint, and goes if that fails.
            fresh = candidates
        else:
            recorded = _record(conn, subscriptions.name, candidates)
            fresh = [event for event in candidates if event.envelope.dedup_key in recorded]
        for group in _groups(subscriptions, fresh):
            for event, error in _call(conn, subscriptions, producer, group, isolate=isolate):
                if error is _ALREADY_HANDLED:
                    continue
                if error is None:
                    handled.append(event)
                elif not isolate:
                    raise _HandlerFailed
                else:
                    assert isinstance(error, Exception)
                    failures.append((event, error))
    return Outcome(handled, len(events) - len(handled) - len(failures), failures)


def _groups(subscriptions: Subscriptions, events: list[Event]) -> Iterator[list[Event]]:
    """Consecutive events of one batch-handled type go together; every other event alone."""
    for name, run in groupby(events, key=lambda e: e.event_type.name):
        if name in subscriptions.batch_handlers:
            yield list(run)
        else:
            yield from ([event] for event in run)


def _call(
    conn: Connection, subscriptions: Subscriptions, producer: Producer, group: list[Event], *, isolate: bool
) -> Iterator[tuple[Event, Exception | object | None]]:
    name = group[0].event_type.name
    if name in subscriptions.batch_handlers and not isolate:
        error = _guarded(lambda: subscriptions.batch_handlers[name](group, conn))
        yield from ((event, error) for event in group)
        return
    for event in group:
        savepoint = conn.begin_nested() if isolate else None
        if savepoint is not None and not _record(conn, subscriptions.name, [event]):
            savepoint.commit()
            yield event, _ALREADY_HANDLED
            continue

        def one(event: Event = event) -> None:
            with context.correlated(event.correlation_id):
                if name in subscriptions.batch_handlers:
                    subscriptions.batch_handlers[name]([event], conn)
                else:
                    subscriptions.handlers[name](event, HandlerContext(conn, producer, event))

        error = _guarded(one)
        if savepoint is not None:
            (savepoint.rollback if error else savepoint.commit)()
        yield event, error


def _guarded(call: Callable[[], None]) -> Exception | None:
    try:
        call()
    except Exception as exc:
        if isinstance(exc, sa.exc.SQLAlchemyError) and is_connection_failure(exc):
            raise
        return exc
    return None


def _distinct(events: Sequence[Event]) -> list[Event]:
    """A duplicate within the batch counts once."""
    seen: set[tuple[str, str]] = set()
    distinct = []
    for event in events:
        if event.envelope.dedup_key not in seen:
            seen.add(event.envelope.dedup_key)
            distinct.append(event)
    return distinct


def _record(conn: Connection, consumer: str, events: list[Event]) -> set[tuple[str, str]]:
    """Record events in the inbox; returns the keys that were not there yet (one statement)."""
    if not events:
        return set()
    now = datetime.now(UTC)
    rows = conn.execute(
        _insert_new(conn.dialect.name),
        [
            {
                "consumer": consumer,
                "source": e.envelope.source,
                "event_id": e.id,
                "event_type": e.event_type.name,
                "processed_at": now,
            }
            for e in events
        ],
    )
    return {(row.source, row.event_id) for row in rows}


@cache
def _insert_new(dialect: str) -> sa.Executable:
    insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(inbox)
    return insert.on_conflict_do_nothing(index_elements=["consumer", "source", "event_id"]).returning(
        inbox.c.source, inbox.c.event_id
    )


def prune(engine: Engine, consumer: str, older_than: timedelta) -> None:
    """Forget events handled long ago; a redelivery is never that late."""
    cutoff = datetime.now(UTC) - older_than
    with write_transaction(engine) as conn:
        conn.execute(inbox.delete().where(inbox.c.consumer == consumer, inbox.c.processed_at < cutoff))
