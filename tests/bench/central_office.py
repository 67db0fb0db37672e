"""The central office: how fast it ingests events, and how long a rebuild of 100,000 takes.

Run from the repository root (``make bench``). Each figure comes with a baseline measured in
the same run on the same machine, and is reported as a ratio to it; nothing here asserts.

1. ingest: every site's events published to the central ``peerlink.events`` and routed to the
   reporting consumer's queue, then drained by the consumer (inbox, event log, read models),
   timed from its start, against consuming the same number of messages, queued the same way,
   with manual acks and no database at all;
2. rebuild: ``peerlink-reporting replay`` of 100,000 logged events into empty read models,
   against reading and parsing the same log without projecting it.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _benchkit import throwaway_database, throwaway_vhost, write_results

from peerlink.amqp import ConfirmingPublisher, OutgoingMessage, connect
from peerlink.consumer import Consumer
from peerlink.contracts import CATALOGUE
from peerlink.db import create_engine, write_transaction
from peerlink.envelope import Envelope, new_event_id, parse_envelope
from peerlink.outbox import Producer
from peerlink.testing import running, wait_until
from peerlink.topology import ConsumerQueues, declare_exchanges, quorum_arguments
from reporting import store
from reporting.app import DEFINITION
from reporting.handlers import logged_form, subscriptions
from reporting.replay import replay

BACKENDS = ("postgresql", "sqlite")
SITES = ("ebbw-vale", "merthyr", "pontypridd")

INGEST_EVENTS = 20_000
REBUILD_EVENTS = 100_000


# A realistic stream -------------------------------------------------------------------------


def stream(count: int, seed: int = 3) -> list[Envelope]:
    """Referrals and their triage, mentors and matches, sessions with attendance, sales: in the
    proportions of a busy network, spread over a year and three sites."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    envelopes: list[Envelope] = []
    mentors: dict[str, list[str]] = {site: [] for site in SITES}
    sequences: dict[str, int] = {}

    def emit(site: str, service: str, name: str, subject: str, data: dict[str, Any], at: datetime) -> None:
        event_type = CATALOGUE[name]
        sequences[subject] = sequences.get(subject, 0) + 1
        envelopes.append(
            Envelope(
                id=new_event_id(),
                source=f"/sites/{site}/{service}",
                type=name,
                subject=subject,
                time=at,
                site=site,
                sequence=sequences[subject],
                data=event_type.dump(data),
            )
        )

    while len(envelopes) < count:
        site = rng.choice(SITES)
        at = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        roll = rng.random()
        if roll < 0.05 or not mentors[site]:
            mentor = str(uuid.uuid4())
            mentors[site].append(mentor)
            emit(
                site,
                "matching",
                "peerlink.mentor.registered.v1",
                mentor,
                {
                    "mentor_id": mentor,
                    "kind": rng.choice(["paid", "volunteer"]),
                    "languages": ["en"],
                    "lived_experience": ["alcohol"],
                    "interests": ["art"],
                    "availability": ["tue-pm"],
                    "capacity": rng.randint(1, 5),
                    "person_id": str(uuid.uuid4()) if rng.random() < 0.3 else None,
                    "registered_at": at,
                },
                at,
            )
        elif roll < 0.55:
            referral, person = str(uuid.uuid4()), str(uuid.uuid4())
            ids = {"referral_id": referral, "person_id": person}
            emit(
                site,
                "referrals",
                "peerlink.referral.received.v1",
                referral,
                {
                    **ids,
                    "source": rng.choice(["gp", "self", "probation", "family"]),
                    "support_needs": ["alcohol", "isolation"],
                    "age_band": "35-44",
                    "preferred_language": "cy",
                    "received_at": at,
                    "counted_in_figures": True,
                    "self_referral": False,
                    "known_person": False,
                },
                at,
            )
            accepted = at + timedelta(days=rng.randint(0, 10))
            emit(
                site,
                "referrals",
                "peerlink.referral.accepted.v1",
                referral,
                {
                    **ids,
                    "accepted_at": accepted,
                    "priority": False,
                    "reentry": False,
                    "support_needs": ["alcohol"],
                    "interests": [],
                    "availability": [],
                    "preferred_language": "cy",
                    "preferences": {"mentor_gender": "no-preference", "welsh_speaking_mentor": False},
                },
                accepted,
            )
            if rng.random() < 0.7:
                match, mentor = str(uuid.uuid4()), rng.choice(mentors[site])
                matched = accepted + timedelta(days=rng.randint(1, 60))
                match_ids = {**ids, "match_id": match, "mentor_id": mentor}
                emit(
                    site,
                    "matching",
                    "peerlink.match.confirmed.v1",
                    match,
                    {**match_ids, "confirmed_at": matched},
                    matched,
                )
                emit(
                    site,
                    "referrals",
                    "peerlink.referral.matched.v1",
                    referral,
                    {
                        **ids,
                        "match_id": match,
                        "mentor_id": mentor,
                        "matched_at": matched,
                        "days_waiting": (matched - accepted).days,
                    },
                    matched,
                )
        elif roll < 0.85:
            event = str(uuid.uuid4())
            emit(
                site,
                "events",
                "peerlink.artevent.scheduled.v1",
                event,
                {
                    "event_id": event,
                    "kind": "group-session",
                    "title_cy": "Celf",
                    "title_en": "Art",
                    "venue": "Institute",
                    "starts_at": at,
                    "ends_at": at + timedelta(hours=2),
                    "capacity": 14,
                    "public": False,
                    "scheduled_at": at - timedelta(days=7),
                },
                at - timedelta(days=7),
            )
            for _ in range(rng.randint(2, 8)):
                emit(
                    site,
                    "events",
                    "peerlink.attendance.recorded.v1",
                    event,
                    {
                        "attendance_id": str(uuid.uuid4()),
                        "event_id": event,
                        "registration_id": str(uuid.uuid4()),
                        "person_id": str(uuid.uuid4()),
                        "status": rng.choice(["attended", "attended", "no-show"]),
                        "headcount": 1,
                        "recorded_at": at,
                    },
                    at,
                )
        else:
            sale, pence = str(uuid.uuid4()), rng.randint(100, 20_000)
            emit(
                site,
                "events",
                "peerlink.sale.recorded.v1",
                sale,
                {
                    "sale_id": sale,
                    "event_id": str(uuid.uuid4()),
                    "kind": rng.choice(["auction-lot", "cards", "artwork"]),
                    "quantity": 1,
                    "amount_pence": pence,
                    "artist_share_pence": pence // 2,
                    "scheme_share_pence": pence - pence // 2,
                    "recorded_at": at,
                },
                at,
            )
    return envelopes[:count]


# Throwaway broker and databases ---------------------------------------------------------------


def publish(amqp_url: str, envelopes: list[Envelope], *, queue: str | None = None) -> None:
    """Confirmed, pipelined: to a queue of our own, or to peerlink.events by routing key."""
    with contextlib.closing(connect(amqp_url, name="bench-publisher")) as connection:
        publisher = ConfirmingPublisher(connection)
        declare_exchanges(publisher.channel)
        messages = [
            OutgoingMessage(
                exchange="" if queue else "peerlink.events",
                routing_key=queue or f"{e.site}.{e.type.split('.')[1]}.{e.type.split('.')[2]}",
                body=e.to_json(),
                message_id=e.id,
                type=e.type,
            )
            for e in envelopes
        ]
        for start in range(0, len(messages), 1000):
            if not all(publisher.publish(messages[start : start + 1000])):
                raise RuntimeError("the broker refused a publish")


# 1. Ingest -----------------------------------------------------------------------------------


def raw_consume(amqp_url: str, envelopes: list[Envelope]) -> float:
    """The ceiling: the same messages consumed with manual acks, prefetch 200, no database."""
    with contextlib.closing(connect(amqp_url, name="bench-raw")) as connection:
        channel = connection.channel()
        queue = f"raw-{uuid.uuid4().hex[:8]}"
        channel.queue_declare(queue, durable=True, auto_delete=False, arguments=quorum_arguments())
        publish(amqp_url, envelopes, queue=queue)
        channel.basic_qos(0, 200, False)
        received = 0

        def on_message(message: Any) -> None:
            nonlocal received
            received += 1
            if received % 100 == 0 or received == len(envelopes):
                channel.basic_ack(message.delivery_tag, multiple=True)

        started = time.perf_counter()
        channel.basic_consume(queue, callback=on_message)
        while received < len(envelopes):
            connection.drain_events(timeout=10)
        return len(envelopes) / (time.perf_counter() - started)


def ingest(amqp_url: str, database_url: str, envelopes: list[Envelope]) -> float:
    """The consumer's rate on a queue that already holds every event, as the raw baseline's.

    Its queues and bindings are declared first, by the consumer's own declaration, so that no
    event published goes to ``peerlink.unrouted`` (where the wait below would never end); every
    event is published, confirmed and seen in the queue; only then does the clock start, with
    the consumer, and it stops when the last event is in the log.
    """
    retry_delays = (1.0,)
    queues = ConsumerQueues(subscriptions.name, retry_delays)
    with contextlib.closing(connect(amqp_url, name="bench-setup")) as connection:
        queues.declare(connection.channel(), subscriptions.bindings)
    publish(amqp_url, envelopes)
    wait_until(
        lambda: _queued(amqp_url, queues.inbox) >= len(envelopes), timeout=60, what=f"every event in {queues.inbox}"
    )
    engine = create_engine(database_url)
    try:
        consumer = Consumer(
            engine, amqp_url, subscriptions, producer=Producer("central", "reporting"), retry_delays=retry_delays
        )
        started = time.perf_counter()
        with running(consumer):
            wait_until(lambda: _logged(engine) >= len(envelopes), timeout=600, interval=0.05, what="every event")
            return len(envelopes) / (time.perf_counter() - started)
    finally:
        engine.dispose()


def _queued(amqp_url: str, queue: str) -> int:
    with contextlib.closing(connect(amqp_url, name="bench-probe")) as connection:
        _, count, _ = connection.channel().queue_declare(queue, passive=True)
        return int(count)


def _logged(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(store.event_log)).scalar_one())


# 2. Rebuild ----------------------------------------------------------------------------------


def fill_log(database_url: str, envelopes: list[Envelope]) -> None:
    engine = create_engine(database_url)
    try:
        now = datetime.now(UTC)
        for start in range(0, len(envelopes), 5000):
            with write_transaction(engine) as conn:
                store.log_events(conn, [logged_form(e) for e in envelopes[start : start + 5000]], now)
    finally:
        engine.dispose()


def read_log_only(database_url: str) -> float:
    """The baseline: every page of the log read, parsed and loaded by its schema, nothing written."""
    engine = create_engine(database_url)
    try:
        started = time.perf_counter()
        with engine.connect() as conn:
            position = 0
            while chunk := store.logged(conn, after=position, limit=5000):
                position = chunk[-1][0]
                for _, body in chunk:
                    envelope = parse_envelope(body)
                    CATALOGUE[envelope.type].load(envelope.data)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def rebuild(database_url: str) -> tuple[float, int]:
    engine = create_engine(database_url)
    try:
        done = replay(engine)
        return done.seconds, done.events
    finally:
        engine.dispose()


# The run ---------------------------------------------------------------------------------------


def run_all(tmp: Path) -> dict[str, Any]:
    print(f"generating {REBUILD_EVENTS:,} events ...", flush=True)
    events = stream(REBUILD_EVENTS)
    results: dict[str, Any] = {"ingest": {}, "rebuild": {}}
    with throwaway_vhost() as vhost:
        results["raw_consume"] = raw_consume(vhost, events[:INGEST_EVENTS])
    print(f"raw consume with acks: {results['raw_consume']:,.0f} msg/s", flush=True)
    for backend in BACKENDS:
        with throwaway_vhost() as vhost, throwaway_database(backend, tmp, DEFINITION.migrations.upgrade) as url:
            rate = ingest(vhost, url, events[:INGEST_EVENTS])
        results["ingest"][backend] = rate
        print(f"ingest, {backend}: {rate:,.0f} events/s", flush=True)
    for backend in BACKENDS:
        with throwaway_database(backend, tmp, DEFINITION.migrations.upgrade) as url:
            fill_log(url, events)
            read = read_log_only(url)
            seconds, replayed = rebuild(url)
        results["rebuild"][backend] = {"events": replayed, "seconds": seconds, "read_only_seconds": round(read, 3)}
        print(f"rebuild {replayed:,} events, {backend}: {seconds:.1f} s (reading alone {read:.1f} s)", flush=True)
    return results


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"measure": "raw consume with acks (no database)", "value": round(results["raw_consume"]), "unit": "msg/s"}]
    for backend in BACKENDS:
        rate = results["ingest"][backend]
        rows.append(
            {
                "measure": f"ingest (inbox + log + read models), {backend}",
                "value": round(rate),
                "unit": "events/s",
                "ratio": round(rate / results["raw_consume"], 3),
                "baseline": "raw consume",
            }
        )
    for backend in BACKENDS:
        rebuilt = results["rebuild"][backend]
        rows.append(
            {
                "measure": f"rebuild {rebuilt['events']:,} events, {backend}",
                "value": rebuilt["seconds"],
                "unit": "s",
                "ratio": round(rebuilt["seconds"] / rebuilt["read_only_seconds"], 2),
                "baseline": "reading and parsing the log alone",
            }
        )
    return rows


def main() -> None:
    started_at = datetime.now(UTC).isoformat()
    with tempfile.TemporaryDirectory(prefix="peerlink-bench-") as directory:
        results = run_all(Path(directory))
    rows = summary(results)
    print(f"\nSummary ({os.cpu_count()} cores)")
    for row in rows:
        ratio = f"  ({row['ratio']} x {row['baseline']})" if "ratio" in row else ""
        print(f"  {row['measure']:<52} {row['value']:>10,} {row['unit']}{ratio}")
    path = write_results(
        "central_office", {"started_at": started_at, "cores": os.cpu_count(), "summary": rows, "results": results}
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
