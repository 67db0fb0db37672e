"""What a consumer handles and with what: events, handler contexts, subscriptions.

A handler is a small function named for what it does (``on_referral_received``) that
writes only through the transaction it is given; anything that leaves the process (an
email, a text) is recorded there and sent by a separate component. A handler may run more
than once for one event (its transaction rolled back each time but the last), never with a
second committed effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from peerlink.contracts import EventType
from peerlink.envelope import Envelope
from peerlink.outbox import Producer, emit


class PermanentFailure(Exception):
    """Raised by a handler for an event it can never handle: parked at once, not retried."""


@dataclass(frozen=True)
class Event:
    """What a handler receives: the envelope and its data, loaded by the type's schema."""

    envelope: Envelope
    event_type: EventType
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.envelope.id

    @property
    def subject(self) -> str:
        return self.envelope.subject

    @property
    def site(self) -> str:
        return self.envelope.site

    @property
    def time(self) -> datetime:
        return self.envelope.time

    @property
    def correlation_id(self) -> str | None:
        return self.envelope.correlationid


@dataclass
class HandlerContext:
    """The open transaction a handler writes in, and an outbox that links what it emits."""

    connection: Connection
    producer: Producer
    event: Event

    def emit(self, event_type: EventType, *, subject: str, data: dict[str, Any], site_only: bool = False) -> Envelope:
        return emit(
            self.connection,
            self.producer,
            event_type,
            subject=subject,
            data=data,
            causation_id=self.event.id,
            correlation_id=self.event.correlation_id,
            site_only=site_only,
        )


Handler = Callable[[Event, HandlerContext], None]
# For high-volume consumers (an event log, a read model): consecutive events for one batch
# handler arrive together (of several types, in order, if it is registered for several), so the
# handler can write them with a few statements.
BatchHandler = Callable[[list[Event], Connection], None]


@dataclass
class Subscriptions:
    """Which event types a consumer handles: ``@subs.on(REFERRAL_RECEIVED)``."""

    name: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    types: dict[str, EventType] = field(default_factory=dict)

    def on(self, event_type: EventType) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._add(event_type)
            self.handlers[event_type.name] = handler
            return handler

        return register

    def on_batch(self, event_type: EventType) -> Callable[[BatchHandler], BatchHandler]:
        def register(handler: BatchHandler) -> BatchHandler:
            self._add(event_type)
            self.batch_handlers[event_type.name] = handler
            return handler

        return register

    def _add(self, event_type: EventType) -> None:
        if event_type.name in self.types:
            raise ValueError(f"{self.name} already handles {event_type.name}")
        self.types[event_type.name] = event_type

    @property
    def bindings(self) -> list[tuple[str, str]]:
        return sorted({(t.exchange, t.binding_key) for t in self.types.values()})
