"""Registrations racing for places: real threads, each its own client and database connection,
released together, against SQLite and PostgreSQL. Nothing is oversold, nobody jumps the queue."""

import threading
import uuid
from typing import Any

import sqlalchemy as sa

from events.store.tables import events, registrations


def race(app, tokens, requests: list[tuple[str, str, dict[str, Any], dict[str, str]]]) -> list[tuple[int, Any]]:
    """Send every request at once, each from its own thread; (status, body) in the same order."""
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def send(index: int, method: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            response = client.open(path, method=method, json=body, headers={**tokens.header(), **headers})
            results[index] = (response.status_code, response.get_json())
        except Exception as exc:  # surfaced by the assertion below, with the thread's error
            results[index] = (0, repr(exc))

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None and r[0] for r in results), results
    return results


def registering(event: dict[str, Any], person_id: str | None = None, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return ("POST", f"/events/{event['id']}/registrations", {"person_id": person_id or str(uuid.uuid4())}, headers)


def places_in_the_database(engine, event_id: str) -> tuple[int, int]:
    """(the event's counter, the places of its confirmed registrations): both must be right."""
    with engine.connect() as conn:
        counter = conn.execute(sa.select(events.c.places_confirmed).where(events.c.id == uuid.UUID(event_id)))
        confirmed = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(registrations.c.places), 0)).where(
                registrations.c.event_id == uuid.UUID(event_id), registrations.c.status == "confirmed"
            )
        )
        return int(counter.scalar_one()), int(confirmed.scalar_one())


def test_two_clients_racing_for_the_last_place_exactly_one_gets_it(app, tokens, api, make_event, engine):
    for _ in range(4):  # several rounds: each is a fresh race for one last place
        event = make_event(capacity=3)
        for _ in range(2):
            api.post(f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
        outcomes = race(app, tokens, [registering(event), registering(event)])
        assert sorted(status for status, _ in outcomes) == [201, 201]
        assert sorted((body["status"], body["position"]) for _, body in outcomes) == [
            ("confirmed", None),
            ("waitlisted", 1),
        ]
        assert places_in_the_database(engine, event["id"]) == (3, 3)


def test_sixteen_racing_for_four_places_fill_them_and_queue_in_one_order(app, tokens, make_event, engine):
    event = make_event(capacity=4)
    outcomes = race(app, tokens, [registering(event) for _ in range(16)])
    assert [s for s, _ in outcomes] == [201] * 16
    confirmed = [b for _, b in outcomes if b["status"] == "confirmed"]
    waiting = [b for _, b in outcomes if b["status"] == "waitlisted"]
    assert len(confirmed) == 4
    assert sorted(b["position"] for b in waiting) == list(range(1, 13))
    assert places_in_the_database(engine, event["id"]) == (4, 4)


def test_a_freed_place_goes_to_the_waiting_list_not_to_a_newcomer_racing_the_cancellation(
    app, tokens, api, make_event, engine
):
    for _ in range(3):
        event = make_event(capacity=1)
        holder = api.post(f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
        waiting = api.post(f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
        cancel = ("POST", f"/events/{event['id']}/registrations/{holder.get_json()['id']}/cancel", {}, {})
        (cancelled, newcomer) = race(app, tokens, [cancel, registering(event)])
        assert cancelled[0] == 200 and newcomer[0] == 201
        assert newcomer[1]["status"] == "waitlisted", newcomer
        promoted = api.get(f"/events/{event['id']}/registrations/{waiting.get_json()['id']}", expect=200)
        assert promoted.get_json()["status"] == "confirmed"
        assert places_in_the_database(engine, event["id"]) == (1, 1)


def test_a_double_click_registers_once(app, tokens, make_event, engine):
    event = make_event(capacity=5)
    someone = str(uuid.uuid4())
    # Without a key: one registration and one "already registered".
    outcomes = race(app, tokens, [registering(event, someone), registering(event, someone)])
    assert sorted(s for s, _ in outcomes) == [201, 409]
    # With one key: the same registration twice, made once.
    key = str(uuid.uuid4())
    other = str(uuid.uuid4())
    outcomes = race(app, tokens, [registering(event, other, key), registering(event, other, key)])
    assert [s for s, _ in outcomes] == [201, 201]
    assert outcomes[0][1]["id"] == outcomes[1][1]["id"]
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(registrations.c.person_id.in_([uuid.UUID(someone), uuid.UUID(other)]))
        ).scalar_one()
    assert count == 2
