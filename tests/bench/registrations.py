"""Registrations for one popular event: 2,000 people racing for 200 places, on this machine.

Run from the repository root (``make bench``). Each backend gets a throwaway PostgreSQL schema
or SQLite file, migrated as the service migrates it, removed afterwards. Three rates, each
2,000 registrations sent from a bounded pool of threads at once:

1. baseline: plain INSERTs of the same registration rows, one transaction each (the database's
   own rate for these rows with these indexes, under the same concurrency);
2. the use case alone (``commands.register`` in a unit of work: the event's row lock, the
   checks, the place counter, the registration and its outbox event);
3. through the HTTP API in process (token, validation, the use case, the JSON answer);
4. the use case again with the same 2,000 people spread over 20 events of 10 places: one
   event's registrations are decided one at a time (its row lock), different events' in
   parallel, and this shows how much of the cost is that queue.

After each, the result is checked and reported, never assumed: places confirmed against the
capacity (oversold must be 0, and every place taken), the event's counter against the
registrations, one registration per person, the waiting list numbered 1..1800 without a gap or a
repeat, every answer a confirmation or a place on the waiting list, one registration event in the
outbox per registration, one place held (``places_held``) per active registration. Figures are
printed and written to ``bench-results/registrations.json``; nothing here asserts on a timing,
but a wrong result is a failure: the script says what was WRONG and exits with status 1.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _benchkit import throwaway_database, write_results

from events import commands
from events.api.common import CLOCK
from events.app import DEFINITION, create_app
from events.domain.schedule import Details
from events.store.tables import events, places_held, registrations
from peerlink.db import create_engine, write_transaction
from peerlink.outbox import Producer, UnitOfWork
from peerlink.tables import outbox
from peerlink.testing import settings_for
from peerlink.testing.services import Tokens

BACKENDS = ("postgresql", "sqlite")
PEOPLE = 2_000
CAPACITY = 200
THREADS = 16  # a busy gunicorn's worth of threads, within the engine's pool of 20
SPREAD_EVENTS = 20
PRODUCER = Producer("ebbw-vale", "events")


def popular_event(engine: sa.Engine, capacity: int) -> uuid.UUID:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    details = Details(
        kind="exhibition", title_cy="Arddangosfa", title_en="Exhibition", venue="Institute", capacity=capacity
    )
    with UnitOfWork(engine, PRODUCER) as uow:
        event = commands.schedule_event(
            uow,
            details,
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            timezone="Europe/London",
            group_id=None,
            now=datetime.now(UTC),
        )
        uow.commit()
    return event.id


def race(send: Callable[[int], Any]) -> tuple[float, list[Any]]:
    """``send(i)`` for every i, from THREADS threads released together; (seconds, results)."""
    start = threading.Barrier(THREADS + 1)

    def warm(_: int) -> None:
        start.wait()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        # Every worker thread exists and waits at the barrier before the clock starts.
        ready = [pool.submit(warm, i) for i in range(THREADS)]
        start.wait()
        began = time.perf_counter()
        results = list(pool.map(send, range(PEOPLE)))
        elapsed = time.perf_counter() - began
        for future in ready:
            future.result()
    return elapsed, results


# 1. Baseline: plain inserts ------------------------------------------------------------------


def plain_inserts(engine: sa.Engine) -> dict[str, Any]:
    event_id = popular_event(engine, CAPACITY)
    now = datetime.now(UTC)

    def insert(i: int) -> None:
        with write_transaction(engine) as conn:
            conn.execute(
                registrations.insert().values(
                    id=uuid.uuid4(),
                    event_id=event_id,
                    person_id=uuid.uuid4(),
                    places=1,
                    status="confirmed" if i < CAPACITY else "waitlisted",
                    priority=False,
                    queue_number=None if i < CAPACITY else i - CAPACITY + 1,
                    registered_at=now,
                )
            )

    seconds, _ = race(insert)
    return {"seconds": round(seconds, 3), "per_second": round(PEOPLE / seconds, 1)}


# 2. The use case alone ----------------------------------------------------------------------


def use_case(engine: sa.Engine, events_count: int = 1) -> dict[str, Any]:
    event_ids = [popular_event(engine, CAPACITY // events_count) for _ in range(events_count)]

    def register(i: int) -> str:
        with UnitOfWork(engine, PRODUCER) as uow:
            registered = commands.register(
                uow,
                event_ids[i % events_count],
                person_id=uuid.uuid4(),
                guest=None,
                mentor_id=None,
                places_wanted=1,
                now=datetime.now(UTC),
            )
            uow.commit()
        return registered.registration.status.value

    seconds, statuses = race(register)
    measured: dict[str, Any] = {"seconds": round(seconds, 3), "per_second": round(PEOPLE / seconds, 1)}
    if events_count == 1:
        return {**measured, **verdict(engine, event_ids[0], statuses, CAPACITY)}
    each = [verdict(engine, event_id, None, capacity=CAPACITY // events_count) for event_id in event_ids]
    answers = answered(statuses)
    wrong = [f"event {n + 1}: {problem}" for n, v in enumerate(each) for problem in v["wrong"]]
    wrong += wrong_answers(answers, CAPACITY)
    return {
        **measured,
        "events": events_count,
        "answers": answers,
        "oversold": sum(v["oversold"] for v in each),
        "confirmed_places": sum(v["confirmed_places"] for v in each),
        "people_registered_twice": sum(v["people_registered_twice"] for v in each),
        "waiting_list_in_order_without_gaps": all(v["waiting_list_in_order_without_gaps"] for v in each),
        "wrong": wrong,
    }


def spread_over_events(engine: sa.Engine) -> dict[str, Any]:
    return use_case(engine, SPREAD_EVENTS)


# 3. Through the HTTP API -------------------------------------------------------------------


def through_the_api(url: str) -> dict[str, Any]:
    tokens = Tokens()
    tokens.token("coordinator")
    app = create_app(settings_for("events", database_url=url, tokens=tokens.config()))
    app.extensions[CLOCK] = lambda: datetime.now(UTC)
    engine = app.extensions["peerlink"].engine
    try:
        event_id = popular_event(engine, CAPACITY)
        headers = tokens.header()
        local = threading.local()

        def register(_: int) -> str:
            client = getattr(local, "client", None) or app.test_client()
            local.client = client
            response = client.post(
                f"/events/{event_id}/registrations", json={"person_id": str(uuid.uuid4())}, headers=headers
            )
            if response.status_code != 201:
                return f"HTTP {response.status_code}"
            return str(response.get_json()["status"])

        seconds, statuses = race(register)
        return {
            "seconds": round(seconds, 3),
            "per_second": round(PEOPLE / seconds, 1),
            **verdict(engine, event_id, statuses, CAPACITY),
        }
    finally:
        engine.dispose()


def answered(statuses: list[str]) -> dict[str, int]:
    return {status: statuses.count(status) for status in sorted(set(statuses))}


def wrong_answers(answers: dict[str, int], capacity: int) -> list[str]:
    """Every one of the PEOPLE answered: confirmed while places lasted, then waitlisted."""
    expected = {"confirmed": capacity, "waitlisted": PEOPLE - capacity}
    return [] if answers == expected else [f"answers {answers}, expected {expected}"]


def verdict(engine: sa.Engine, event_id: uuid.UUID, statuses: list[str] | None, capacity: int) -> dict[str, Any]:
    """What the database holds after the race, checked against what must be true; ``wrong``
    says each way it is not (``statuses``: the answers, when all went to this event)."""
    with engine.connect() as conn:
        columns = (registrations.c.id, registrations.c.person_id, registrations.c.status, registrations.c.places)
        rows = conn.execute(sa.select(*columns).where(registrations.c.event_id == event_id)).all()
        held = conn.execute(
            sa.select(sa.func.count()).select_from(places_held).where(places_held.c.event_id == event_id)
        ).scalar_one()
        announced = set(
            conn.execute(sa.select(outbox.c.subject).where(outbox.c.event_type.like("peerlink.registration.%")))
            .scalars()
            .all()
        )
        counter = conn.execute(sa.select(events.c.places_confirmed).where(events.c.id == event_id)).scalar_one()
        waiting_numbers = (
            conn.execute(
                sa.select(registrations.c.queue_number)
                .where(registrations.c.event_id == event_id, registrations.c.status == "waitlisted")
                .order_by(registrations.c.queue_number)
            )
            .scalars()
            .all()
        )
    confirmed_places = sum(r.places for r in rows if r.status == "confirmed")
    waiting = len(rows) - sum(1 for r in rows if r.status == "confirmed")
    result: dict[str, Any] = {
        "confirmed_places": confirmed_places,
        "event_counter": counter,
        "oversold": max(0, confirmed_places - capacity),
        "registrations": len(rows),
        "people_registered_twice": len(rows) - len({r.person_id for r in rows}),
        "waiting_list_in_order_without_gaps": waiting_numbers == list(range(1, waiting + 1)),
        "registration_events_in_outbox": sum(1 for r in rows if str(r.id) in announced),
        "places_held": held,
    }
    wrong = []
    if result["oversold"]:
        wrong.append(f"oversold by {result['oversold']}")
    elif confirmed_places != capacity:
        wrong.append(f"{confirmed_places} of {capacity} places confirmed with people still waiting")
    if counter != confirmed_places:
        wrong.append(f"the event's counter says {counter} places, its registrations {confirmed_places}")
    if result["people_registered_twice"]:
        wrong.append(f"{result['people_registered_twice']} people registered twice")
    if not result["waiting_list_in_order_without_gaps"]:
        wrong.append("the waiting list has a gap or a repeat")
    if result["registration_events_in_outbox"] != len(rows):
        wrong.append(f"{len(rows) - result['registration_events_in_outbox']} registrations never announced")
    active = sum(1 for r in rows if r.status in ("confirmed", "waitlisted"))
    if held != active:
        wrong.append(f"{held} places held for {active} active registrations")
    if statuses is not None:
        result["answers"] = answered(statuses)
        wrong += wrong_answers(result["answers"], capacity)
    return {**result, "wrong": wrong}


def run_backend(backend: str, tmp: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, measure in (
        ("plain_inserts", plain_inserts),
        ("use_case", use_case),
        ("spread_over_events", spread_over_events),
    ):
        with throwaway_database(backend, tmp, DEFINITION.migrations.upgrade) as url:
            engine = create_engine(url)
            try:
                results[name] = measure(engine)
            finally:
                engine.dispose()
        print(f"  {backend:10} {name:14} {results[name]['per_second']:>8,.0f}/s", flush=True)
    with throwaway_database(backend, tmp, DEFINITION.migrations.upgrade) as url:
        results["http_api"] = through_the_api(url)
    print(f"  {backend:10} {'http_api':14} {results['http_api']['per_second']:>8,.0f}/s", flush=True)
    base = results["plain_inserts"]["per_second"]
    for name in ("use_case", "http_api", "spread_over_events"):
        results[name]["ratio_to_plain_inserts"] = round(results[name]["per_second"] / base, 3)
    return results


def print_summary(results: dict[str, Any]) -> None:
    print(f"\n{PEOPLE:,} people, {CAPACITY} places, {THREADS} threads, {os.cpu_count()} cores")
    header = ("backend", "measure", "registrations/s", "x plain inserts", "confirmed", "oversold", "queue ok")
    table = [header]
    for backend, measured in results.items():
        for name in ("plain_inserts", "use_case", "http_api", "spread_over_events"):
            row = measured[name]
            table.append(
                (
                    backend,
                    name.replace("_", " "),
                    f"{row['per_second']:,.0f}",
                    f"{row.get('ratio_to_plain_inserts', 1.0):.2f}",
                    str(row.get("confirmed_places", "")),
                    str(row.get("oversold", "")),
                    {True: "yes", False: "NO", None: ""}[row.get("waiting_list_in_order_without_gaps")],
                )
            )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for index, line in enumerate(table):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
    wrong = verdicts(results)
    if not wrong:
        print("\nnothing oversold, every place taken, one registration each, waiting list in order")
    for problem in wrong:
        print(f"WRONG: {problem}")


def verdicts(results: dict[str, Any]) -> list[str]:
    """Every way any measure's result was wrong, named by backend and measure."""
    return [
        f"{backend} {name}: {problem}"
        for backend, measured in results.items()
        for name in ("use_case", "http_api", "spread_over_events")
        for problem in measured[name]["wrong"]
    ]


def main() -> None:
    started_at = datetime.now(UTC).isoformat()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="peerlink-bench-") as directory:
        for backend in BACKENDS:
            results[backend] = run_backend(backend, Path(directory))
    print_summary(results)
    report = {
        "started_at": started_at,
        "cores": os.cpu_count(),
        "people": PEOPLE,
        "capacity": CAPACITY,
        "threads": THREADS,
        "results": results,
    }
    path = write_results("registrations", report)
    print(f"written to {path}")
    if verdicts(results):  # a correctness check, not a timing one: make bench fails on it
        sys.exit(1)


if __name__ == "__main__":
    main()
