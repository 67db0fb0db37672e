"""The consumer runner: deliveries handled in batches, each event once.

For each batch of deliveries:

1. decode: a body that is not a Peerlink CloudEvent, of a type this consumer has no handler
   for, or whose data fails its schema is parked at once with the reason;
2. in one database transaction (:mod:`peerlink.inbox`): skip events already handled, run the
   handlers, record the events in the inbox, commit; a failing handler's writes are rolled
   back and the others' kept;
3. republish failures to the retry queue of their attempt (TTL, then dead-lettered back) or,
   after the last attempt, to the parking queue, with the reason in the headers, through the
   consumer's own direct exchange; wait for the broker's confirms;
4. only then ack the whole batch.

A crash anywhere before 4 redelivers the batch, and the inbox makes that harmless. A
database that went away is not the handler's fault: the batch is held, unacked, and tried
again after a backoff, burning none of its retries.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import amqp
import sqlalchemy as sa
from marshmallow import ValidationError
from prometheus_client import Counter, Histogram
from sqlalchemy.engine import Engine

from peerlink.amqp import (
    CONNECTION_ERRORS,
    Backoff,
    BrokerUnavailable,
    ConfirmingPublisher,
    OutgoingMessage,
    connect,
    copy_to_queue,
    headers_of,
    keep_alive,
)
from peerlink.contracts import CATALOGUE, Catalogue
from peerlink.db import is_connection_failure
from peerlink.envelope import InvalidEnvelope, flatten_errors, parse_envelope
from peerlink.inbox import handle_batch, prune
from peerlink.outbox import Producer
from peerlink.subscriptions import Event, PermanentFailure, Subscriptions
from peerlink.topology import (
    ATTEMPT,
    CONSUMER,
    LAST_ERROR,
    ORIGINAL_EXCHANGE,
    ORIGINAL_ROUTING_KEY,
    PARKED_AT,
    PARKED_REASON,
    ConsumerQueues,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024

HANDLED = Counter("peerlink_consumer_handled_total", "Events handled and committed", ["consumer", "type"])
DUPLICATES = Counter("peerlink_consumer_duplicates_total", "Redelivered or duplicated events skipped", ["consumer"])
RETRIED = Counter("peerlink_consumer_retried_total", "Handler failures sent to a retry queue", ["consumer"])
PARKED = Counter("peerlink_consumer_parked_total", "Messages parked", ["consumer", "why"])
BATCH_SECONDS = Histogram("peerlink_consumer_batch_seconds", "Time to handle and commit one batch", ["consumer"])


class _Undeliverable(Exception):
    """A message that can never be handled as it is; parked with this reason."""


@dataclass
class _Delivery:
    message: amqp.Message
    event: Event | None = None
    error: str | None = None

    @property
    def tag(self) -> int:
        return int(self.message.delivery_info["delivery_tag"])

    @property
    def headers(self) -> dict[str, Any]:
        return headers_of(self.message)

    @property
    def attempt(self) -> int:
        try:
            return int(self.headers.get(ATTEMPT, 0))
        except (TypeError, ValueError):
            return 0


class Consumer:
    def __init__(
        self,
        engine: Engine,
        amqp_url: str,
        subscriptions: Subscriptions,
        *,
        producer: Producer,
        retry_delays: Iterable[float],
        prefetch: int = 200,
        batch_size: int = 100,
        gap: float = 0.002,
        catalogue: Catalogue = CATALOGUE,
        inbox_retention: timedelta = timedelta(days=30),
        heartbeat: int = 30,
    ):
        self.engine = engine
        self.amqp_url = amqp_url
        self.subscriptions = subscriptions
        self.producer = producer
        self.queues = ConsumerQueues(subscriptions.name, tuple(retry_delays))
        self.prefetch = prefetch
        self.batch_size = min(batch_size, prefetch)
        self.gap = gap
        self.catalogue = catalogue
        self.inbox_retention = inbox_retention
        self.heartbeat = heartbeat
        self._buffer: list[amqp.Message] = []
        self._last_prune = 0.0

    @property
    def name(self) -> str:
        return self.subscriptions.name

    # Connection lifecycle ------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                self._connected(stop, backoff)
            except CONNECTION_ERRORS as exc:
                log.warning("consumer lost the broker, reconnecting", extra={"consumer": self.name, "error": repr(exc)})
                backoff.sleep(stop)

    def _connected(self, stop: threading.Event, backoff: Backoff) -> None:
        connection = connect(self.amqp_url, name=f"{self.name}-consumer", heartbeat=self.heartbeat)
        self._buffer = []
        try:
            channel = connection.channel()
            self.queues.declare(channel, self.subscriptions.bindings)
            publisher = ConfirmingPublisher(connection)
            channel.basic_qos(0, self.prefetch, False)
            tag = channel.basic_consume(self.queues.inbox, callback=self._buffer.append, no_ack=False)
            log.info("consumer ready", extra={"consumer": self.name, "queue": self.queues.inbox})
            backoff.reset()
            while not stop.is_set():
                self._fill(connection)
                self._handle_buffer(channel, publisher, connection, stop)
                self._prune_now_and_then()
            # A clean stop: take no more, and settle what was already delivered, so that a
            # restart returns nothing to the queue (each return counts towards its delivery limit).
            channel.basic_cancel(tag)
            self._handle_buffer(channel, publisher, connection, stop)
        finally:
            with contextlib.suppress(Exception):
                connection.release()

    def _fill(self, connection: Any) -> None:
        """Wait for a first delivery, then take whatever follows closely, up to a batch."""
        if not self._buffer:
            try:
                connection.drain_events(timeout=min(1.0, self.heartbeat / 4))
            except TimeoutError:
                connection.heartbeat_check()
                return
        started = time.monotonic()
        while len(self._buffer) < self.batch_size and time.monotonic() - started < 0.05:
            try:
                connection.drain_events(timeout=self.gap)
            except TimeoutError:
                break

    def _handle_buffer(
        self, channel: amqp.Channel, publisher: ConfirmingPublisher, connection: Any, stop: threading.Event
    ) -> None:
        if self._buffer:
            batch, self._buffer[:] = list(self._buffer), []
            self._handle(batch, channel, publisher, connection, stop)

    # One batch -----------------------------------------------------------------------

    def _handle(
        self,
        messages: list[amqp.Message],
        channel: amqp.Channel,
        publisher: ConfirmingPublisher,
        connection: Any,
        stop: threading.Event,
    ) -> None:
        deliveries = [self._decode(message) for message in messages]
        valid = [d for d in deliveries if d.event is not None]
        backoff = Backoff()
        while True:
            try:
                with BATCH_SECONDS.labels(self.name).time():
                    failures = self._apply(valid)
                break
            except sa.exc.SQLAlchemyError as exc:
                if not is_connection_failure(exc):
                    # Not the database's absence and not one handler's fault (say, the commit
                    # itself failed): every event of the batch goes round again, none is lost.
                    log.exception("batch failed as a whole", extra={"consumer": self.name})
                    failures = [(d, exc) for d in valid]
                    break
                log.warning(
                    "consumer lost the database; holding the batch", extra={"consumer": self.name, "error": repr(exc)}
                )
                deadline = time.monotonic() + backoff.next_delay()
                while time.monotonic() < deadline:
                    if stop.is_set():
                        return  # unacked: the broker redelivers them to whoever consumes next
                    keep_alive(connection)  # deliveries that arrive meanwhile wait in the buffer
                    stop.wait(min(1.0, self.heartbeat / 4, max(0.0, deadline - time.monotonic())))
        outgoing = [self._park(d, d.error or "invalid", "invalid") for d in deliveries if d.event is None]
        outgoing += [self._retry_or_park(d, exc) for d, exc in failures]
        if outgoing and not all(publisher.publish(outgoing)):
            raise BrokerUnavailable("could not move failed messages to their retry or parking queue")
        channel.basic_ack(max(d.tag for d in deliveries), multiple=True)

    def _decode(self, message: amqp.Message) -> _Delivery:
        delivery = _Delivery(message)
        try:
            delivery.event = self._event(message.body)
        except _Undeliverable as exc:
            delivery.error = str(exc)
        return delivery

    def _event(self, body: bytes | str) -> Event:
        if len(body) > MAX_BODY_BYTES:
            raise _Undeliverable(f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit")
        try:
            envelope = parse_envelope(body)
        except InvalidEnvelope as exc:
            raise _Undeliverable(str(exc)) from None
        event_type = self.subscriptions.types.get(envelope.type)
        if event_type is None:
            known = self.catalogue.get(envelope.type) is not None
            raise _Undeliverable(
                f"{self.name} has no handler for {envelope.type}" + ("" if known else " (not in the event catalogue)")
            )
        try:
            data = event_type.load(envelope.data)
        except ValidationError as exc:
            raise _Undeliverable(f"data does not match {event_type.name}: {flatten_errors(exc.messages)}") from None
        return Event(envelope, event_type, data)

    def _apply(self, deliveries: list[_Delivery]) -> list[tuple[_Delivery, Exception]]:
        """Run the handlers in one transaction; returns the deliveries whose handler failed."""
        by_event = {id(d.event): d for d in deliveries}
        outcome = handle_batch(self.engine, self.subscriptions, self.producer, [d.event for d in deliveries if d.event])
        DUPLICATES.labels(self.name).inc(outcome.duplicates)
        for event in outcome.handled:
            HANDLED.labels(self.name, event.event_type.name).inc()
        return [(by_event[id(event)], error) for event, error in outcome.failures]

    # Retry and parking ---------------------------------------------------------------

    def _retry_or_park(self, delivery: _Delivery, exc: Exception) -> OutgoingMessage:
        attempt = delivery.attempt + 1
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        if isinstance(exc, PermanentFailure):
            return self._park(delivery, reason, "permanent")
        if attempt >= self.queues.max_attempts:
            return self._park(delivery, f"gave up after {attempt} attempts; last error {reason}", "exhausted")
        log.warning(
            "handler failed; will retry",
            extra={
                "consumer": self.name,
                "event_id": delivery.event.id if delivery.event else None,
                "attempt": attempt,
                "error": reason,
            },
        )
        RETRIED.labels(self.name).inc()
        return self._copy(delivery, self.queues.retry(attempt), {ATTEMPT: attempt, LAST_ERROR: reason})

    def _park(self, delivery: _Delivery, reason: str, why: str) -> OutgoingMessage:
        log.error("message parked", extra={"consumer": self.name, "reason": reason, "queue": self.queues.parked})
        PARKED.labels(self.name, why).inc()
        return self._copy(
            delivery,
            self.queues.parked,
            {
                PARKED_REASON: reason[:1000],
                PARKED_AT: datetime.now(UTC).isoformat(),
                ATTEMPT: delivery.attempt + (0 if why == "invalid" else 1),
            },
        )

    def _copy(self, delivery: _Delivery, queue: str, extra_headers: dict[str, Any]) -> OutgoingMessage:
        info = delivery.message.delivery_info
        headers = delivery.headers
        headers.setdefault(ORIGINAL_EXCHANGE, info.get("exchange", ""))
        headers.setdefault(ORIGINAL_ROUTING_KEY, info.get("routing_key", ""))
        headers[CONSUMER] = self.name
        headers.update(extra_headers)
        return copy_to_queue(delivery.message, queue, headers, exchange=self.queues.exchange)

    def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._last_prune < 3600:
            return
        self._last_prune = time.monotonic()
        try:
            prune(self.engine, self.name, self.inbox_retention)
        except sa.exc.SQLAlchemyError as exc:
            # Housekeeping only: the next round tries again.
            log.warning("could not prune the inbox", extra={"consumer": self.name, "error": repr(exc)})
