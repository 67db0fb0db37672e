"""The central office consumes every pseudonymous event of every site: each is appended to the
event log (a duplicate counts once, by ``source`` + ``id``) and projected into the read models,
in the same transaction as the consumer's inbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from peerlink.contracts import CATALOGUE, Channel
from peerlink.envelope import Envelope
from peerlink.subscriptions import Event, Subscriptions
from reporting import store
from reporting.domain.projection import Upsert, project, version_of

subscriptions = Subscriptions("reporting")


def logged_form(envelope: Envelope) -> store.LoggedEvent:
    return store.LoggedEvent(
        source=envelope.source,
        event_id=envelope.id,
        event_type=envelope.type,
        site=envelope.site,
        subject=envelope.subject,
        sequence=envelope.sequence,
        time=envelope.time,
        envelope=envelope.to_json().decode(),
    )


def on_events(events: list[Event], conn: Connection) -> None:
    """Log a run of events and project the ones the log had not seen."""
    new = store.log_events(conn, [logged_form(e.envelope) for e in events], received_at=datetime.now(UTC))
    upserts: list[Upsert] = []
    for event in events:
        if event.envelope.dedup_key in new:
            new.discard(event.envelope.dedup_key)  # twice in this run: once
            version = version_of(event.envelope.sequence, event.envelope.time, event.envelope.id)
            upserts += project(event.event_type.name, event.site, version, event.data)
    store.apply(conn, upserts)


for _event_type in CATALOGUE:
    if _event_type.channel is Channel.EVENTS:
        subscriptions.on_batch(_event_type)(on_events)
