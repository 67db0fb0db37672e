"""Waking the senders soon after a message is owed, rather than on a slow poll (as the relay is
woken for the outbox): PostgreSQL NOTIFYs on its own channel when a transaction that owed a
message commits; SQLite's ``data_version`` changes whenever another connection commits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from peerlink.wakeup import PostgresWaker, SqliteWaker, Waker

CHANNEL = "peerlink_notifications_due"
_NOTIFIED = "peerlink_notifications_notified"
_NOTIFY = sa.text(f"SELECT pg_notify('{CHANNEL}', '')")


def something_is_due(conn: Connection) -> None:
    """Within the transaction that owed it: the senders hear of it when (and only if) it commits."""
    if conn.dialect.name != "postgresql":
        return
    transaction = conn.get_nested_transaction() or conn.get_transaction()
    if conn.info.get(_NOTIFIED) is transaction:
        return
    conn.execute(_NOTIFY)
    conn.info[_NOTIFIED] = transaction


class _DueWaker(PostgresWaker):
    def __init__(self, engine: Engine):
        import psycopg

        url = engine.url.set(drivername="postgresql")
        self.connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self.connection.execute(f"LISTEN {CHANNEL}")


@contextlib.contextmanager
def waker_for(engine: Engine) -> Iterator[Waker]:
    waker: SqliteWaker | _DueWaker = SqliteWaker(engine) if engine.dialect.name == "sqlite" else _DueWaker(engine)
    try:
        yield waker
    finally:
        waker.close()
