"""AMQP plumbing on kombu's own client (py-amqp): connections, backoff, pipelined confirms.

Waiting for each publisher confirm in turn costs about ten times the throughput of
publishing a window of messages and collecting the broker's acks as they arrive, with
the same guarantee. :class:`ConfirmingPublisher` does the latter without asyncio.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import amqp
import kombu

from peerlink.envelope import CONTENT_TYPE

log = logging.getLogger(__name__)


def connect(url: str, *, heartbeat: int = 30, name: str = "peerlink", timeout: float = 10.0) -> kombu.Connection:
    """An open connection; raises one of ``connection_errors`` if the broker is away."""
    connection = kombu.Connection(
        url,
        heartbeat=heartbeat,
        connect_timeout=timeout,
        transport_options={"client_properties": {"connection_name": name}},
    )
    connection.connect()
    return connection


def keep_alive(connection: kombu.Connection) -> None:
    """Read whatever the broker sent (its heartbeats among it) and send ours if due.

    A connection that is only written to, or not touched at all, looks dead to both sides
    after two heartbeat intervals, however healthy it is.
    """
    with contextlib.suppress(TimeoutError):
        while True:
            connection.drain_events(timeout=0)
    connection.heartbeat_check()


class BrokerUnavailable(ConnectionError):
    """Publishing could not be confirmed in time; treat as a lost connection."""


# What means "the broker or the network went away": reconnect with backoff, do not crash.
# (socket timeouts are OSErrors too: callers that poll catch TimeoutError first.)
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    amqp.exceptions.RecoverableConnectionError,
    amqp.exceptions.RecoverableChannelError,
    amqp.exceptions.ConnectionError,
    OSError,
    EOFError,
)


@dataclass
class Backoff:
    """Growing, jittered delays between reconnect attempts; reset after a success."""

    initial: float = 0.5
    maximum: float = 30.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * (2**self.attempt))
        self.attempt += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0

    def sleep(self, stop: threading.Event) -> None:
        stop.wait(self.next_delay())


@dataclass(frozen=True)
class OutgoingMessage:
    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    type: str
    correlation_id: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    app_id: str | None = None
    mandatory: bool = False

    def to_amqp(self) -> amqp.Message:
        properties: dict[str, Any] = {
            "content_type": CONTENT_TYPE,
            "content_encoding": "utf-8",
            "delivery_mode": 2,
            "message_id": self.message_id,
            "type": self.type,
            "timestamp": int(time.time()),
        }
        if self.headers:
            properties["application_headers"] = dict(self.headers)
        if self.correlation_id:
            properties["correlation_id"] = self.correlation_id
        if self.app_id:
            properties["app_id"] = self.app_id
        return amqp.Message(self.body, **properties)


def headers_of(message: amqp.Message) -> dict[str, Any]:
    return dict(message.properties.get("application_headers") or {})


def copy_to_queue(message: amqp.Message, queue: str, headers: dict[str, Any], *, exchange: str) -> OutgoingMessage:
    """A received message, as it is, sent to ``queue`` with ``headers`` (replacing its own) through
    ``exchange``, a direct exchange that binds the queue by its name (a consumer's own: see
    topology.ConsumerQueues.exchange)."""
    properties = message.properties
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return OutgoingMessage(
        exchange=exchange,
        routing_key=queue,
        body=body,
        message_id=str(properties.get("message_id") or ""),
        type=str(properties.get("type") or ""),
        correlation_id=properties.get("correlation_id"),
        headers=headers,
        app_id=properties.get("app_id"),
        mandatory=True,  # a missing queue must be an error, not a silent drop
    )


class ConfirmingPublisher:
    """Publishes a batch, then collects the broker's acks, nacks and returns as they come.

    :meth:`send` and :meth:`collect` are separate so that a caller can do other work (the
    relay marks the previous batch sent) while the broker confirms.
    """

    def __init__(self, connection: kombu.Connection, *, confirm_timeout: float = 30.0):
        self.connection = connection
        self.confirm_timeout = confirm_timeout
        self.channel: amqp.Channel = connection.channel()
        self.channel.confirm_select()
        self.channel.events["basic_ack"].add(self._on_ack)
        self.channel.events["basic_nack"].add(self._on_nack)
        self.channel.events["basic_return"].add(self._on_return)
        self._next_tag = 1
        self._first_tag = 1  # delivery tag of the batch's first message
        self._pending: set[int] = set()
        self._results: list[bool] = []
        self._returned: set[str] = set()
        self._ids: list[str] = []

    def publish(self, messages: Sequence[OutgoingMessage]) -> list[bool]:
        """One result per message: True when the broker took responsibility for it.

        False means nacked, or returned as unroutable (only for ``mandatory`` messages).
        Raises :class:`BrokerUnavailable` when confirms do not arrive in time.
        """
        self.send(messages)
        return self.collect()

    def send(self, messages: Sequence[OutgoingMessage]) -> None:
        if self._pending:
            raise RuntimeError("collect() the previous batch first")
        self._first_tag = self._next_tag
        self._results = [False] * len(messages)
        self._ids = [m.message_id for m in messages]
        self._returned = set()
        for message in messages:
            self._pending.add(self._next_tag)
            self._next_tag += 1
            self.channel.basic_publish(
                message.to_amqp(),
                exchange=message.exchange,
                routing_key=message.routing_key,
                mandatory=message.mandatory,
            )

    def collect(self) -> list[bool]:
        deadline = time.monotonic() + self.confirm_timeout
        while self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerUnavailable(f"{len(self._pending)} publishes not confirmed in {self.confirm_timeout}s")
            try:
                self.connection.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                keep_alive(self.connection)
        return self._results

    def _settle(self, delivery_tag: int, multiple: bool, ok: bool) -> None:
        # Tags of one batch are consecutive, so "multiple" settles a range.
        start = self._first_tag if multiple else delivery_tag
        for tag in range(start, delivery_tag + 1):
            if tag in self._pending:
                self._pending.discard(tag)
                index = tag - self._first_tag
                self._results[index] = ok and self._ids[index] not in self._returned

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, True)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        log.warning("broker nacked a publish", extra={"delivery_tag": delivery_tag})
        self._settle(delivery_tag, multiple, False)

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: amqp.Message) -> None:
        message_id = message.properties.get("message_id")
        log.error("unroutable message returned", extra={"exchange": exchange, "routing_key": routing_key})
        if message_id:
            self._returned.add(message_id)
