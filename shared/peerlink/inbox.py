"""Handling a batch of events in one transaction, each event once (the inbox).

The batch first runs optimistically: the events recorded in the inbox with one statement
that also says which were new, every new event's handler straight in the transaction, one
commit. If anything fails (a handler raises, or swallows a database error that aborted the
transaction, or an event cannot even be recorded), that transaction is rolled back whole and
the batch runs again with each event in its own savepoint, so that the failures are known and
the rest still commit. Savepoints cost two round trips an event, most of a batch's time on
PostgreSQL; failures are rare, so they are paid only then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import groupby
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from peerlink import context
from peerlink.db import insert_for, is_connection_failure, transaction_is_broken, write_transaction
from peerlink.outbox import Producer
from peerlink.subscriptions import Event, HandlerContext, Subscriptions
from peerlink.tables import inbox

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    handled: list[Event]
    duplicates: int
    failures: list[tuple[Event, Exception]]


class SwallowedDatabaseError(Exception):
    """A handler caught a database error; PostgreSQL had aborted its transaction anyway."""


class _Abandon(Exception):
    """Abandons the optimistic run (rolling its transaction back)."""


def handle_batch(engine: Engine, subscriptions: Subscriptions, producer: Producer, events: Sequence[Event]) -> Outcome:
    """Run the handlers of ``events`` (in order) and record them; a database that is away raises."""
    distinct = _distinct(events)
    if not distinct:
        return Outcome([], len(events), [])
    try:
        handled = _optimistic(engine, subscriptions, producer, distinct)
        return Outcome(handled, len(events) - len(handled), [])
    except _Abandon:
        handled, failures = _isolated(engine, subscriptions, producer, distinct)
        return Outcome(handled, len(events) - len(handled) - len(failures), failures)


def _optimistic(engine: Engine, subscriptions: Subscriptions, producer: Producer, events: list[Event]) -> list[Event]:
    with write_transaction(engine) as conn:
        recorded = _guarded(lambda: _record(conn, subscriptions.name, events))
        if isinstance(recorded, Exception):
            raise _Abandon from recorded
        fresh = [event for event in events if event.envelope.dedup_key in recorded]
        for group in _groups(subscriptions, fresh):
            if isinstance(_guarded(lambda group=group: _call(conn, subscriptions, producer, group)), Exception):
                raise _Abandon
        if transaction_is_broken(conn):
            raise _Abandon
    return fresh


def _isolated(
    engine: Engine, subscriptions: Subscriptions, producer: Producer, events: list[Event]
) -> tuple[list[Event], list[tuple[Event, Exception]]]:
    handled: list[Event] = []
    failures: list[tuple[Event, Exception]] = []
    with write_transaction(engine) as conn:
        for event in events:
            savepoint = conn.begin_nested()

            def one(event: Event = event) -> bool:
                # The event's inbox row rides in its savepoint, and goes if the handler fails.
                if not _record(conn, subscriptions.name, [event]):
                    return False  # already handled
                _call(conn, subscriptions, producer, [event])
                return True

            result = _guarded(one)
            if not isinstance(result, Exception) and transaction_is_broken(conn):
                result = SwallowedDatabaseError(f"{event.event_type.name} handler caught a database error")
            if isinstance(result, Exception):
                savepoint.rollback()
                failures.append((event, result))
                continue
            savepoint.commit()
            if result:
                handled.append(event)
    return handled, failures


def _groups(subscriptions: Subscriptions, events: list[Event]) -> Iterator[list[Event]]:
    """Consecutive events for one batch handler go together (a handler registered for several
    types gets them mixed, in order); every other event alone."""

    def handler_of(event: Event) -> object:
        return subscriptions.batch_handlers.get(event.event_type.name) or event.event_type.name

    for handler, run in groupby(events, key=handler_of):
        if not isinstance(handler, str):
            yield list(run)
        else:
            yield from ([event] for event in run)


def _call(conn: Connection, subscriptions: Subscriptions, producer: Producer, group: list[Event]) -> None:
    name = group[0].event_type.name
    if name in subscriptions.batch_handlers:
        subscriptions.batch_handlers[name](group, conn)
        return
    (event,) = group
    with context.correlated(event.correlation_id):
        subscriptions.handlers[name](event, HandlerContext(conn, producer, event))


def _guarded(call: Callable[[], T]) -> T | Exception:
    """The call's result, or the exception it raised; a database that is away still raises."""
    try:
        return call()
    except Exception as exc:
        if isinstance(exc, sa.exc.SQLAlchemyError) and is_connection_failure(exc):
            raise
        return exc


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
    return (
        insert_for(dialect, inbox)
        .on_conflict_do_nothing(index_elements=["consumer", "source", "event_id"])
        .returning(inbox.c.source, inbox.c.event_id)
    )


def prune(engine: Engine, consumer: str, older_than: timedelta) -> None:
    """Forget events handled long ago; a redelivery is never that late."""
    cutoff = datetime.now(UTC) - older_than
    with write_transaction(engine) as conn:
        conn.execute(inbox.delete().where(inbox.c.consumer == consumer, inbox.c.processed_at < cutoff))
