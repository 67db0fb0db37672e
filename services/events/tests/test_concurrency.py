"""Registrations racing for places: real threads, each its own client and database connection,
released together, against SQLite and PostgreSQL. Nothing is oversold, nobody jumps the queue.

The last tests hold one transaction open at a chosen point and let another run into it, so the
order in which rows are locked is tested, not hoped for (PostgreSQL: on SQLite every write
transaction holds the whole database from its BEGIN IMMEDIATE, so there is no order to get wrong).
"""

import threading
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from events import commands, store
from events.domain.guests import GuestDetails
from events.store.tables import events, guests, registrations
from peerlink.outbox import Producer, UnitOfWork
from peerlink.testing import postgresql_only, wait_until

PRODUCER = Producer("ebbw-vale", "events")


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


class InAnotherTransaction:
    """``work(uow)`` in a thread with its own transaction, committed; its PostgreSQL backend's
    pid is known before the work starts, so a test can wait until it is blocked on a lock."""

    def __init__(self, engine: sa.Engine, work: Callable[[UnitOfWork], Any]):
        self.engine, self.work = engine, work
        self.pid: int | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with UnitOfWork(self.engine, PRODUCER) as uow:
                if uow.connection.dialect.name == "postgresql":
                    self.pid = uow.connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                self.result = self.work(uow)
                uow.commit()
        except BaseException as exc:  # raised in the test by outcome()
            self.error = exc

    def wait_until_blocked(self) -> None:
        """Until it waits for a lock another transaction holds (on SQLite there is nothing to see:
        it waits for the database's write lock at its BEGIN, or has not started yet; either way
        it cannot run before the holder commits)."""
        if self.engine.dialect.name != "postgresql":
            return
        wait_until(lambda: self.pid is not None or self.error, what="the other transaction to start")

        def blocked() -> bool:
            with self.engine.connect() as conn:
                waiting = sa.text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted")
                return bool(conn.execute(waiting, {"pid": self.pid}).scalar_one()) or self.error is not None

        wait_until(blocked, what="the other transaction to wait for a lock")

    def outcome(self) -> Any:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the other transaction never finished"
        if self.error is not None:
            raise self.error
        return self.result


def test_a_newcomer_arriving_during_a_cancellation_takes_the_freed_place_when_nobody_waits(
    api, make_event, engine, clock
):
    """Nobody may be left waiting while a place is free. A cancellation frees the only place of an
    event whose waiting list is empty, and finds nobody to promote; a newcomer arrives while it
    is uncommitted. With the event's row lock the newcomer waits for the cancellation and sees
    the free place. Without it, the newcomer reads the event as it was (full), joins the waiting
    list after the cancellation looked for someone to promote, and stays there with the place free."""
    event = make_event(capacity=1)
    event_id = uuid.UUID(event["id"])
    holder = api.post(f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
    now = clock.now
    with UnitOfWork(engine, PRODUCER) as cancelling:
        commands.cancel_registration(
            cancelling, event_id, uuid.UUID(holder.get_json()["id"]), reason="by-participant", now=now
        )
        newcomer = InAnotherTransaction(
            engine,
            lambda uow: commands.register(
                uow, event_id, person_id=uuid.uuid4(), guest=None, mentor_id=None, places_wanted=1, now=now
            ),
        )
        newcomer.wait_until_blocked()
        cancelling.commit()
    registered = newcomer.outcome()
    assert registered.registration.status.value == "confirmed", registered
    assert places_in_the_database(engine, event["id"]) == (1, 1)


# PostgreSQL only, not skipped on SQLite: SQLite has one lock, the database's, so no order to get wrong.
@postgresql_only
def test_registering_a_guest_and_erasing_them_lock_the_guest_before_the_event(api, make_event, engine, clock):
    """Both lock the guest's row, then the event's: in opposite orders the two could deadlock."""
    event = make_event(public=True, capacity=5)
    event_id = uuid.UUID(event["id"])
    sioned = {"given_name": "Sioned", "email": "sioned@example.org"}
    first = api.post(f"/events/{event['id']}/registrations", {"guest": sioned}, expect=201).get_json()
    guest_id = uuid.UUID(first["guest_id"])
    api.post(f"/events/{event['id']}/registrations/{first['id']}/cancel", {}, expect=200)

    def locked(table: sa.Table, row_id: uuid.UUID) -> bool:
        """Whether another transaction holds this row's lock now."""
        with engine.connect() as conn:
            try:
                conn.execute(sa.select(table.c.id).where(table.c.id == row_id).with_for_update(nowait=True))
            except sa.exc.OperationalError:
                return True
            finally:
                conn.rollback()
        return False

    # A registration waiting for the event's lock already holds the guest's.
    with UnitOfWork(engine, PRODUCER) as holding_the_event:
        store.schedule.lock_events(holding_the_event.connection, [event_id])
        registering = InAnotherTransaction(
            engine,
            lambda uow: commands.register(
                uow,
                event_id,
                person_id=None,
                guest=GuestDetails(given_name="Sioned", email="sioned@example.org"),
                mentor_id=None,
                places_wanted=1,
                now=clock.now,
            ),
        )
        registering.wait_until_blocked()
        assert locked(guests, guest_id)
    registering.outcome()
    # An erasure waiting for the guest's lock holds no event's lock yet.
    with UnitOfWork(engine, PRODUCER) as holding_the_guest:
        store.places.get_guest(holding_the_guest.connection, guest_id, for_update=True)
        erasing = InAnotherTransaction(engine, lambda uow: commands.erase_guest(uow, guest_id, now=clock.now))
        erasing.wait_until_blocked()
        assert not locked(events, event_id)
    assert erasing.outcome().erased_at is not None
