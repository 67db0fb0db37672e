"""The outbox relay: committed events to the broker, confirmed, in order per aggregate.

A row is marked sent only after the broker confirmed it, so a crash between publish and
mark publishes it again: at-least-once, and consumers' inboxes make that once in effect.
Only one relay per database publishes at a time (:mod:`peerlink.leadership`), and it wakes
soon after a commit (:mod:`peerlink.wakeup`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.engine import Engine, Row

from peerlink.amqp import CONNECTION_ERRORS, Backoff, ConfirmingPublisher, OutgoingMessage, connect, keep_alive
from peerlink.db import is_connection_failure, read_transaction, write_transaction
from peerlink.leadership import Lease, single_relay
from peerlink.tables import outbox
from peerlink.topology import declare_exchanges
from peerlink.wakeup import Waker, waker_for

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
        heartbeat: int = 30,
    ):
        self.engine = engine
        self.amqp_url = amqp_url
        self.service = service
        self.batch_size = batch_size
        self.idle_poll = idle_poll
        self.retention = retention
        self.heartbeat = heartbeat
        self._last_prune = 0.0

    # The loop -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                with single_relay(self.engine, self.service, stop) as lease:
                    if lease is None:
                        continue  # another relay publishes; stand by
                    with waker_for(self.engine) as waker:
                        self._connected(stop, lease, waker, backoff)
            except CONNECTION_ERRORS as exc:
                log.warning("relay lost the broker or its lock, reconnecting", extra={"error": repr(exc)})
                backoff.sleep(stop)
            except (sa.exc.SQLAlchemyError, psycopg.OperationalError) as exc:
                if isinstance(exc, sa.exc.SQLAlchemyError) and not is_connection_failure(exc):
                    raise
                log.warning("relay lost the database, reconnecting", extra={"error": repr(exc)})
                backoff.sleep(stop)

    def _connected(self, stop: threading.Event, lease: Lease, waker: Waker, backoff: Backoff) -> None:
        connection = connect(self.amqp_url, name=f"{self.service}-relay", heartbeat=self.heartbeat)
        try:
            publisher = ConfirmingPublisher(connection)
            declare_exchanges(publisher.channel)
            log.info("relay connected")
            backoff.reset()
            self._pump(publisher, stop, lease, waker)
        finally:
            with contextlib.suppress(Exception):
                connection.release()

    def _pump(self, publisher: ConfirmingPublisher, stop: threading.Event, lease: Lease, waker: Waker) -> None:
        """Publish batch after batch; mark the previous batch sent while the broker confirms this one.

        Confirmed but not yet marked rows are left out of the next read, so nothing is
        published twice in the normal course; after a crash they are, and inboxes absorb it.
        """
        unmarked: list[int] = []
        try:
            while not stop.is_set():
                lease.confirm()
                rows = self._unsent(exclude=unmarked)
                if rows:
                    publisher.send([_message(row, self.service) for row in rows])
                if unmarked:
                    self._mark_sent(unmarked)
                    unmarked = []
                if not rows:
                    self._prune_now_and_then()
                    self._idle(publisher, waker, stop)
                    continue
                unmarked = self._settle(rows, publisher.collect())
        finally:
            if unmarked and stop.is_set():
                # A clean stop leaves nothing to publish twice.
                self._mark_sent(unmarked)

    def _idle(self, publisher: ConfirmingPublisher, waker: Waker, stop: threading.Event) -> None:
        """Wait for a commit (or the poll), answering the broker's heartbeats meanwhile."""
        deadline = time.monotonic() + self.idle_poll
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            # Slices of a quarter of the heartbeat interval, so ours go out well in time.
            woken = remaining > 0 and waker.wait(min(remaining, self.heartbeat / 4), stop)
            keep_alive(publisher.connection)
            if woken or time.monotonic() >= deadline:
                return

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
