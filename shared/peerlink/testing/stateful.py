"""For stateful property tests (hypothesis' rule-based state machines) that drive a service's
real API: a fresh migrated database for every example, cheaply, what each request wrote to the
outbox, and events handed to the service's own handlers as its consumer hands them.

Migrating takes tens of milliseconds a database; copying one migrated SQLite file takes well
under one, so every example starts from a copy of a template migrated once a test. The files
live in memory (``/dev/shm``) where there is one: a commit's fsync there costs nothing, on a
shared disk it costs milliseconds, most of such a test's time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import settings

from peerlink.envelope import Envelope, parse_envelope
from peerlink.inbox import Outcome, handle_batch
from peerlink.outbox import Producer
from peerlink.subscriptions import Event, Subscriptions
from peerlink.tables import outbox
from peerlink.testing.services import settings_for


def machine_settings(*, max_examples: int, steps: int) -> settings:
    """Examples and steps sized to the test's budget; the same examples every run in CI."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    return settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=in_ci,
        database=None if in_ci else settings.default.database,
        print_blob=True,
    )


class FreshApps:
    """The service's app on a database of its own for each example, copied from one template."""

    def __init__(self, definition: Any, directory: Path, *, tokens: str = "", **extra: str):
        self.definition = definition
        self.directory = _in_memory_if_possible(directory)
        self.tokens = tokens
        self.extra = extra
        self.template = directory / f"{definition.name}-template.db"
        definition.migrations.upgrade(f"sqlite:///{self.template}")
        self.made = 0

    def new(self) -> tuple[Flask, Path]:
        self.made += 1
        path = self.directory / f"{self.definition.name}-{self.made}.db"
        shutil.copyfile(self.template, path)
        app = self.definition.create_app(
            settings_for(self.definition.name, database_url=f"sqlite:///{path}", tokens=self.tokens, **self.extra)
        )
        return app, path

    @staticmethod
    def close(app: Flask, path: Path) -> None:
        app.extensions["peerlink"].engine.dispose()
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)

    def __enter__(self) -> FreshApps:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _in_memory_if_possible(directory: Path) -> Path:
    memory = Path("/dev/shm")  # noqa: S108 - a directory of our own is made in it
    if memory.is_dir() and os.access(memory, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="peerlink-stateful-", dir=memory))
    return directory


class OutboxWatch:
    """What the outbox gained since the last look, as envelopes, in the order they were written;
    and the promise of the outbox checked on everything it ever held: per aggregate, sequences
    strictly increasing from 1 without a gap."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.position = 0
        self.last_sequence: dict[tuple[str, str], int] = defaultdict(int)

    def new(self) -> list[Envelope]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox.c.position, outbox.c.body)
                .where(outbox.c.position > self.position)
                .order_by(outbox.c.position)
            ).all()
        found = []
        for row in rows:
            self.position = row.position
            envelope = parse_envelope(row.body)
            key = (envelope.type.split(".")[1], envelope.subject)
            assert envelope.sequence == self.last_sequence[key] + 1, (envelope.type, envelope.subject)
            self.last_sequence[key] = envelope.sequence
            found.append(envelope)
        return found

    def types(self) -> list[str]:
        return [envelope.type for envelope in self.new()]


def deliver(
    engine: sa.Engine,
    subscriptions: Subscriptions,
    producer: Producer,
    envelopes: Sequence[Envelope],
) -> Outcome:
    """Hand envelopes to a service's handlers as its consumer does once they left the broker:
    decoded from the JSON body, checked by their type's schema, run through the inbox."""
    events = []
    for envelope in envelopes:
        parsed = parse_envelope(envelope.to_json())
        event_type = subscriptions.types[parsed.type]
        events.append(Event(parsed, event_type, event_type.load(parsed.data)))
    return handle_batch(engine, subscriptions, producer, events)


@dataclass
class Consumer:
    """One service as a consumer: its database, what it subscribes to, who it emits as."""

    name: str
    engine: sa.Engine
    subscriptions: Subscriptions
    producer: Producer


@dataclass
class Router:
    """The broker's part between services running in one process, without the broker: each
    envelope routed goes to the queue of every consumer subscribed to its type (as the
    consumers' bindings route it, on ``peerlink.events`` and ``peerlink.site-only`` alike),
    a queue a consumer, each delivered in order through the consumer's own handlers and inbox
    (:func:`deliver`). What to route (the outboxes, read with :class:`OutboxWatch`), when to
    deliver, and what a delivery should have done, are the test's to say.

    ``delivered`` keeps every (consumer, envelope) delivered, for a test to deliver again as a
    broker does after a lost acknowledgement."""

    consumers: Sequence[Consumer]
    queues: dict[str, deque[Envelope]] = field(default_factory=dict)
    delivered: list[tuple[str, Envelope]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queues = {consumer.name: deque() for consumer in self.consumers}

    def route(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            for consumer in self.consumers:
                if envelope.type in consumer.subscriptions.types:
                    self.queues[consumer.name].append(envelope)

    @property
    def in_flight(self) -> int:
        return sum(len(queue) for queue in self.queues.values())

    def busy(self) -> list[str]:
        """The consumers with something waiting in their queue, in the order they were given."""
        return [consumer.name for consumer in self.consumers if self.queues[consumer.name]]

    def consumer(self, name: str) -> Consumer:
        return next(consumer for consumer in self.consumers if consumer.name == name)

    def deliver_next(self, name: str) -> tuple[Envelope, Outcome]:
        """The head of the consumer's queue, delivered (a batch of one)."""
        envelope = self.queues[name].popleft()
        return envelope, self.deliver(name, envelope)

    def deliver(self, name: str, envelope: Envelope) -> Outcome:
        consumer = self.consumer(name)
        outcome = deliver(consumer.engine, consumer.subscriptions, consumer.producer, [envelope])
        self.delivered.append((name, envelope))
        return outcome
