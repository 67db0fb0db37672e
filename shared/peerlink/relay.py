"""The outbox relay: committed events to the broker, confirmed, in order per aggregate.

A row is marked sent only after the broker confirmed it, so a crash between publish and
mark publishes it again: at-least-once, and consumers' inboxes make that once in effect.
Only one relay per database publishes at a time (a PostgreSQL advisory lock or a file lock
for SQLite), because two relays would interleave an aggregate's events.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.engine import Engine, Row

from peerlink.amqp import CONNECTION_ERRORS, Backoff, ConfirmingPublisher, OutgoingMessage, connect
from peerlink.db import is_connection_failure, read_transaction, write_transaction
from peerlink.outbox import NOTIFY_CHANNEL
from peerlink.tables import outbox
from peerlink.topology import declare_exchanges

log = logging.getLogger(__name__)

_MARK_SENT_POSTGRES = sa.text("UPDATE peerlink_outbox SET published_at = :now WHERE position = ANY(:positions)")

PUBLISHED = Counter("peerlink_relay_published_total", "Outbox events confirmed by the broker", ["service"])
UNCONFIRMED = Counter(
    "peerlink_relay_unconfirmed_total", "Outbox events the broker nacked or returned (published again)", ["service"]
)
LAG = Gauge("peerlink_relay_lag_seconds", "Age of the oldest event the relay just published", ["service"])


class Relay:
    def __init__(
        self,
        engine: Engine,
        amqp_url: str,
        *,
        service: str,
        batch_size: int = 1000,
        idle_poll: float = 1.0,
        retention: timedelta = timedelta(days=7),
    ):
        self.engine = engine
        self.amqp_url = amqp_url
        self.service = service
        self.batch_size = batch_size
        self.idle_poll = idle_poll
        self.retention = retention
        self._last_prune = 0.0

    # The loop -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                with _single_relay(self.engine, self.service, stop) as leader:
                    if not leader:
                        continue
                    with _waker(self.engine) as waker:
                        self._connected(stop, waker, backoff)
            except CONNECTION_ERRORS as exc:
                log.warning("relay lost the broker, reconnecting", extra={"error": repr(exc)})
                backoff.sleep(stop)
            except (sa.exc.SQLAlchemyError, psycopg.OperationalError) as exc:
                if isinstance(exc, sa.exc.SQLAlchemyError) and not is_connection_failure(exc):
                    raise
                log.warning("relay lost the database, reconnecting", extra={"error": repr(exc)})
                backoff.sleep(stop)

    def _connected(self, stop: threading.Event, waker: _Waker, backoff: Backoff) -> None:
        connection = connect(self.amqp_url, name=f"{self.service}-relay")
        try:
            publisher = ConfirmingPublisher(connection)
            declare_exchanges(publisher.channel)
            log.info("relay connected")
            backoff.reset()
            self._pump(publisher, stop, waker)
        finally:
            with contextlib.suppress(Exception):
                connection.release()

    def _pump(self, publisher: ConfirmingPublisher, stop: threading.Event, waker: _Waker) -> None:
        """Publish batch after batch; mark the previous batch sent while the broker confirms this one.

        Confirmed but not yet marked rows are left out of the next read, so nothing is
        published twice in the normal course; after a crash they are, and inboxes absorb it.
        """
        unmarked: list[int] = []
        while not stop.is_set():
            rows = self._unsent(exclude=unmarked)
            if rows:
                publisher.send([_message(row, self.service) for row in rows])
            if unmarked:
                self._mark_sent(unmarked)
                unmarked = []
            if not rows:
                self._prune_now_and_then()
                waker.wait(self.idle_poll, stop)
                publisher.connection.heartbeat_check()
                continue
            unmarked = self._settle(rows, publisher.collect())

    def _unsent(self, exclude: list[int]) -> list[Row[Any]]:
        query = (
            sa.select(
                outbox.c.position,
                outbox.c.event_id,
                outbox.c.event_type,
                outbox.c.exchange,
                outbox.c.routing_key,
                outbox.c.subject,
                outbox.c.correlation_id,
                outbox.c.body,
                outbox.c.created_at,
            )
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.position)
            .limit(self.batch_size)
        )
        with read_transaction(self.engine) as conn:
            if exclude and conn.dialect.name == "postgresql":
                # A constant array (our own integers, nothing from outside), which PostgreSQL
                # looks up by hash; as a parameter, every row is compared with every element.
                array = ",".join(str(int(position)) for position in exclude)
                query = query.where(sa.text(f"position <> ALL('{{{array}}}'::bigint[])"))
            elif exclude:
                query = query.where(outbox.c.position.not_in(exclude))
            return list(conn.execute(query))

    def _settle(self, rows: list[Row[Any]], results: list[bool]) -> list[int]:
        confirmed = _confirmed_in_order(rows, results)
        PUBLISHED.labels(self.service).inc(len(confirmed))
        LAG.labels(self.service).set(max(0.0, time.time() - _aware(rows[0].created_at).timestamp()))
        if len(confirmed) < len(rows):
            UNCONFIRMED.labels(self.service).inc(len(rows) - len(confirmed))
            log.warning(
                "some events were not confirmed; they will be published again",
                extra={"count": len(rows) - len(confirmed)},
            )
        return confirmed

    def _mark_sent(self, positions: list[int]) -> None:
        with write_transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                # One array parameter: far cheaper for PostgreSQL than hundreds of IN parameters.
                conn.execute(_MARK_SENT_POSTGRES, {"now": datetime.now(UTC), "positions": positions})
            else:
                conn.execute(
                    outbox.update().where(outbox.c.position.in_(positions)).values(published_at=datetime.now(UTC))
                )

    def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._last_prune < 600:
            return
        self._last_prune = time.monotonic()
        cutoff = datetime.now(UTC) - self.retention
        with write_transaction(self.engine) as conn:
            conn.execute(outbox.delete().where(outbox.c.published_at < cutoff))


def _message(row: Row[Any], service: str) -> OutgoingMessage:
    return OutgoingMessage(
        exchange=row.exchange,
        routing_key=row.routing_key,
        body=row.body.encode(),
        message_id=row.event_id,
        type=row.event_type,
        correlation_id=row.correlation_id,
        app_id=service,
    )


def _confirmed_in_order(rows: Sequence[Row[Any]], results: Sequence[bool]) -> list[int]:
    """Positions safe to mark sent: after an unconfirmed event, none of its aggregate's later ones.

    They go out again behind the failed one, so an aggregate's events are never marked
    sent out of order.
    """
    blocked: set[str] = set()
    confirmed = []
    for row, ok in zip(rows, results, strict=True):
        if ok and row.subject not in blocked:
            confirmed.append(row.position)
        else:
            blocked.add(row.subject)
    return confirmed


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Leadership ---------------------------------------------------------------------------


@contextlib.contextmanager
def _single_relay(engine: Engine, service: str, stop: threading.Event) -> Iterator[bool]:
    """Yield True while this process is the one relay of its database, else False after a wait."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        with open(f"{path}.relay.lock", "w") as handle:
            if not _try_flock(handle):
                stop.wait(2.0)
                yield False
                return
            yield True
        return
    with engine.connect() as conn:
        key = f"peerlink-relay:{service}:{conn.execute(sa.text('SELECT current_schema()')).scalar_one()}"
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": key}).scalar_one()
        conn.commit()
        if not got:
            stop.wait(2.0)
            yield False
            return
        try:
            yield True
        finally:
            with contextlib.suppress(Exception):
                conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": key})
                conn.commit()


def _try_flock(handle: Any) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


# Waking soon after a commit -------------------------------------------------------------


class _Waker:
    def wait(self, timeout: float, stop: threading.Event) -> None:
        raise NotImplementedError


class _PostgresWaker(_Waker):
    """LISTEN on a dedicated connection; the outbox writer NOTIFYs in its transaction."""

    def __init__(self, engine: Engine):
        url = engine.url.set(drivername="postgresql")
        self.connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self.connection.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, timeout: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + timeout
        woken = False
        while not woken and not stop.is_set() and time.monotonic() < deadline:
            slice_ = min(0.5, max(0.0, deadline - time.monotonic()))
            for _ in self.connection.notifies(timeout=slice_, stop_after=1):
                woken = True
        # Several commits may have notified; one round of publishing serves them all.
        for _ in self.connection.notifies(timeout=0, stop_after=100):
            pass

    def close(self) -> None:
        self.connection.close()


class _SqliteWaker(_Waker):
    """``PRAGMA data_version`` changes when any other connection commits: a cheap check."""

    POLL = 0.005

    def __init__(self, engine: Engine):
        self.connection = sqlite3.connect(engine.url.database or "", timeout=30, check_same_thread=False)
        self.version = self._version()

    def _version(self) -> int:
        return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            version = self._version()
            if version != self.version:
                self.version = version
                return
            time.sleep(self.POLL)

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def _waker(engine: Engine) -> Iterator[_Waker]:
    waker: _PostgresWaker | _SqliteWaker = (
        _SqliteWaker(engine) if engine.dialect.name == "sqlite" else _PostgresWaker(engine)
    )
    try:
        yield waker
    finally:
        waker.close()
