"""Rebuilding the read models from the event log: ``peerlink-reporting replay``.

The log is read in arrival order, page by page, and projected exactly as live events are;
the read models are emptied and refilled in one transaction, so readers see the old figures
until the new ones are complete.

It is safe while a worker consumes: the transaction first holds back ingestion
(``store.hold_back_ingestion``), so that no event is logged, and projected, between the
emptying and the refilling; the worker's batches wait for the rebuild and then go on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peerlink.contracts import CATALOGUE
from peerlink.db import read_transaction, write_transaction
from peerlink.envelope import parse_envelope
from reporting import store
from reporting.domain.projection import project, version_of


@dataclass(frozen=True)
class Replayed:
    events: int
    skipped: int  # types this version does not know: kept in the log, not projected
    seconds: float


def replay(engine: sa.Engine, *, page: int = 5000) -> Replayed:
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        events, skipped = rebuild(conn, page=page)
    return Replayed(events, skipped, round(time.perf_counter() - started, 3))


def rebuild(conn: Connection, *, page: int = 5000) -> tuple[int, int]:
    """Empty and refill the read models within ``conn``'s transaction: (events, skipped)."""
    events = skipped = 0
    store.hold_back_ingestion(conn)
    store.clear_read_models(conn)
    position = 0
    while chunk := store.logged(conn, after=position, limit=page):
        position = chunk[-1][0]
        upserts = []
        for _, body in chunk:
            envelope = parse_envelope(body)
            event_type = CATALOGUE.get(envelope.type)
            if event_type is None:
                skipped += 1
                continue
            version = version_of(envelope.sequence, envelope.time, envelope.id)
            upserts += project(envelope.type, envelope.site, version, event_type.load(envelope.data))
            events += 1
        store.apply(conn, upserts)
    return events, skipped


def held(engine: sa.Engine) -> str:
    with read_transaction(engine) as conn:
        return json.dumps(store.log_counts(conn), indent=2, sort_keys=True)
