"""Any sequence of registrations, cancellations, capacity changes, event cancellations, sales and
voids keeps the promises of events (hypothesis drives the real API on a real migrated database):

- never oversold: the places confirmed are the places of the confirmed registrations, never
  more than the capacity (a capacity lowered under the places booked keeps everyone's place,
  and confirms nobody new until there is room); cards sold never more than the print run, an
  original sold once;
- the waiting list is promoted in order (first-time participants first, then first come), each
  registration that fits taking its places, and nobody left waiting who fits;
- every change writes exactly its events to the outbox, in the same transaction; a refusal none.

A reference model (a few lines of plain Python below) says what each request should do; after
every step the database and the API must agree with it.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from events.api.common import CLOCK
from events.app import DEFINITION
from events.store.tables import artworks, registrations, sales
from events.store.tables import events as art_events
from peerlink.testing.stateful import FreshApps, OutboxWatch, machine_settings

PEOPLE = [uuid.UUID(int=n) for n in range(1, 5)]
MENTOR = uuid.UUID(int=99)
GUESTS = [("Sioned", "sioned@example.org"), ("Aled", "aled@example.org")]
EVENTS = "peerlink.artevent"
REG = "peerlink.registration"


event_ids = Bundle("events")
registration_ids = Bundle("registrations")
artwork_ids = Bundle("artworks")
sale_ids = Bundle("sales")


class Clock:
    """The app's clock: now, ticking a millisecond at each reading as time does between requests."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass
class Reg:
    id: str
    who: tuple[str, int]
    places: int
    priority: bool
    arrival: int
    status: str
    with_mentor: bool = False

    def holds(self, who: tuple[str, int], with_mentor: bool) -> bool:
        """Whether this registration gives a place to the registrant or (if they come) the mentor."""
        return self.who == who or (with_mentor and self.with_mentor)


@dataclass
class Ev:
    id: str
    capacity: int | None
    public: bool
    cancelled: bool = False
    regs: dict[str, Reg] = field(default_factory=dict)
    booked_over: int = 0  # places booked when the capacity was lowered under them

    @property
    def confirmed(self) -> int:
        return sum(r.places for r in self.regs.values() if r.status == "confirmed")

    def fits(self, places: int) -> bool:
        return self.capacity is None or self.confirmed + places <= self.capacity

    def promote(self) -> list[str]:
        """The reference rule: in order (first-timers first, then arrival), each that fits goes up."""
        promoted = []
        for reg in sorted(self.waiting(), key=lambda r: (not r.priority, r.arrival)):
            if self.fits(reg.places):
                reg.status = "confirmed"
                promoted.append(reg.id)
        return promoted

    def waiting(self) -> list[Reg]:
        return [r for r in self.regs.values() if r.status == "waitlisted"]


@dataclass
class Art:
    id: str
    print_run: int | None
    cards_sold: int = 0
    sold: bool = False


class EventsMachine(RuleBasedStateMachine):
    """What both machines share: a fresh app, the model, events scheduled and cancelled."""

    apps: FreshApps
    tokens: Any
    counts: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        self.app, self.path = self.apps.new()
        self.app.extensions[CLOCK] = Clock()
        self.client = self.app.test_client()
        self.engine: sa.Engine = self.app.extensions["peerlink"].engine
        self.watch = OutboxWatch(self.engine)
        self.model: dict[str, Ev] = {}
        self.art: dict[str, Art] = {}
        self.sale_of: dict[str, tuple[str | None, str, int, bool]] = {}  # artwork, kind, quantity, voided
        self.guests_known: set[int] = set()
        self.group = self.call(
            "POST",
            "/groups",
            201,
            json={"name_cy": "Grŵp celf", "name_en": "Art group", "usual_venue": "The Institute"},
        )["id"]
        self.watch.new()
        self.counts["examples"] += 1

    def teardown(self) -> None:
        FreshApps.close(self.app, self.path)

    def call(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, headers=self.tokens.header(), **kwargs)
        body = response.get_json()
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, body)
        self.counts["requests"] += 1
        return body if expect is not None else (response.status_code, body)

    def emitted(self) -> list[tuple[str, str]]:
        return [(e.type, e.subject) for e in self.watch.new()]

    # Events ----------------------------------------------------------------------------------

    @initialize(target=event_ids, capacity=st.sampled_from([1, 2, 3]), public=st.booleans())
    def first_event(self, capacity: int, public: bool) -> str:
        return self.schedule(capacity, public)

    @rule(target=event_ids, capacity=st.sampled_from([None, 1, 2, 3, 5]), public=st.booleans())
    def schedule(self, capacity: int | None, public: bool) -> str:
        day = (datetime.now(UTC) + timedelta(days=7)).date()
        body = {
            "group_id": self.group,
            "kind": "group-session",
            "title_cy": "Sesiwn gelf",
            "title_en": "Art session",
            "starts_at": f"{day}T10:00:00",
            "ends_at": f"{day}T12:00:00",
            "capacity": capacity,
            "public": public,
        }
        made = self.call("POST", "/events", 201, json=body)
        self.model[made["id"]] = Ev(made["id"], capacity, public)
        assert self.emitted() == [(f"{EVENTS}.scheduled.v1", made["id"])]
        return made["id"]

    @precondition(lambda self: sum(not ev.cancelled for ev in self.model.values()) >= 2)
    @rule(event=event_ids)
    def cancel_event(self, event: str) -> None:
        ev = self.model[event]
        status, body = self.call("POST", f"/events/{event}/cancel", json={"reason": "weather"})
        if ev.cancelled:
            assert status == 409, body
            assert self.emitted() == []
            return
        assert status == 200, body
        ev.cancelled = True
        active = [r for r in ev.regs.values() if r.status != "cancelled"]
        for reg in active:
            reg.status = "cancelled"
        found = self.emitted()
        assert found[0] == (f"{EVENTS}.cancelled.v1", event)
        assert sorted(found[1:]) == sorted((f"{REG}.cancelled.v1", r.id) for r in active)

    # What must hold after every step ---------------------------------------------------------

    @invariant()
    def never_oversold_and_nobody_waits_who_fits(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(art_events.c.id, art_events.c.capacity, art_events.c.places_confirmed)).all()
            held = conn.execute(
                sa.select(registrations.c.id, registrations.c.event_id, registrations.c.places, registrations.c.status)
            ).all()
        for event_id, capacity, places_confirmed in rows:
            mine = [r for r in held if r.event_id == event_id]
            assert places_confirmed == sum(r.places for r in mine if r.status == "confirmed")
            ev = self.model[str(event_id)]
            assert capacity is None or places_confirmed <= max(capacity, ev.booked_over), "oversold"
            ev.booked_over = min(ev.booked_over, places_confirmed)  # while over, places only go down
            assert {str(r.id): r.status for r in mine} == {r.id: r.status for r in ev.regs.values()}
            free = None if capacity is None else capacity - places_confirmed
            for waiting in (r for r in mine if r.status == "waitlisted"):
                assert free is not None and waiting.places > free, "left waiting although the places fit"

    @invariant()
    def the_api_says_what_the_database_holds(self) -> None:
        for ev in self.model.values():
            seen = self.call("GET", f"/events/{ev.id}", 200)
            assert (seen["capacity"], seen["places_confirmed"], seen["waiting"]) == (
                ev.capacity,
                0 if ev.cancelled else ev.confirmed,
                0 if ev.cancelled else len(ev.waiting()),
            )

    @invariant()
    def cards_never_oversold_and_an_original_sold_once(self) -> None:
        with self.engine.connect() as conn:
            works = {str(r.id): r for r in conn.execute(sa.select(artworks)).all()}
            sold = conn.execute(
                sa.select(sales.c.artwork_id, sales.c.kind, sales.c.quantity).where(sales.c.voided_at.is_(None))
            ).all()
        for art in self.art.values():
            row = works[art.id]
            cards = sum(s.quantity for s in sold if str(s.artwork_id) == art.id and s.kind == "cards")
            originals = sum(1 for s in sold if str(s.artwork_id) == art.id and s.kind != "cards")
            assert row.cards_sold == cards == art.cards_sold
            assert art.print_run is None or cards <= art.print_run, "more cards sold than printed"
            assert originals == int(art.sold) <= 1
            assert (row.status == "sold") == art.sold


class BookingsInvariants(EventsMachine):
    """Registrations, cancellations, capacity changes and cancelled events."""

    @rule(event=event_ids, around_booked=st.one_of(st.none(), st.integers(-2, 2)))
    def change_capacity_around_the_places_booked(self, event: str, around_booked: int | None) -> None:
        """More or fewer places than are booked now (none: no limit), where the edge cases are."""
        ev = self.model[event]
        self.change_capacity(event, None if around_booked is None else max(1, ev.confirmed + around_booked))

    def change_capacity(self, event: str, capacity: int | None) -> None:
        ev = self.model[event]
        status, body = self.call("PATCH", f"/events/{event}", json={"capacity": capacity})
        if ev.cancelled:
            assert status == 409, body
            assert self.emitted() == []
            return
        if capacity is not None and capacity < ev.confirmed:
            # Fewer places than are booked: nobody loses theirs (the service's rule), and nobody
            # new is confirmed until cancellations bring the places under the new capacity.
            self.counts["capacity-under-confirmed"] += 1
            ev.booked_over = ev.confirmed
        else:
            ev.booked_over = 0
        assert status == 200, body
        self.counts["capacity-changed"] += 1
        grew = ev.capacity is not None and (capacity is None or capacity > ev.capacity)
        changed = capacity != ev.capacity
        ev.capacity = capacity
        promoted = ev.promote() if grew else []
        expected = [(f"{EVENTS}.changed.v1", event)] if changed else []
        assert self.emitted() == expected + [(f"{REG}.promoted.v1", r) for r in promoted]

    # Registrations ---------------------------------------------------------------------------

    # Three doors to one helper, so that bookings are a good share of the steps.
    @rule(target=registration_ids, event=event_ids, n=st.integers(0, len(PEOPLE) - 1), places=st.integers(1, 3))
    def register_participant(self, event: str, n: int, places: int) -> str:
        return self.register(event, ("person", n), with_mentor=False, places=places)

    @rule(
        target=registration_ids,
        event=event_ids,
        n=st.integers(0, len(PEOPLE) - 1),
        places=st.one_of(st.none(), st.integers(1, 3)),
    )
    def register_with_mentor(self, event: str, n: int, places: int | None) -> str:
        return self.register(event, ("person", n), with_mentor=True, places=places)

    @rule(target=registration_ids, event=event_ids, places=st.one_of(st.none(), st.integers(1, 2)))
    def register_guest(self, event: str, places: int | None) -> str:
        return self.register(event, ("guest", 0), with_mentor=False, places=places)

    def register(self, event: str, who: tuple[str, int], with_mentor: bool, places: int | None) -> str:
        ev = self.model[event]
        kind, n = who
        body: dict[str, Any] = {"mentor_id": str(MENTOR) if with_mentor else None, "places": places}
        if kind == "person":
            body["person_id"] = str(PEOPLE[n])
        else:
            body["guest"] = {"given_name": GUESTS[n][0], "email": GUESTS[n][1]}
        wanted = places or (2 if with_mentor else 1)
        status, answer = self.call("POST", f"/events/{event}/registrations", json=body)
        refusal = None
        if ev.cancelled:
            refusal = 409
        elif (kind == "guest" and (with_mentor or not ev.public)) or (with_mentor and wanted < 2):
            refusal = 422
        elif any(r.status != "cancelled" and r.holds(who, with_mentor) for r in ev.regs.values()):
            refusal = 409  # the participant or the mentor holds a place here already, in either role
        if refusal:
            assert status == refusal, answer
            assert self.emitted() == []
            return f"refused-{uuid.uuid4()}"
        assert status == 201, answer
        confirmed = ev.fits(wanted)
        self.counts["confirmed" if confirmed else "waitlisted"] += 1
        reg = Reg(
            answer["id"],
            who,
            wanted,
            priority=kind == "person",
            arrival=len(ev.regs),
            status="confirmed" if confirmed else "waitlisted",
            with_mentor=with_mentor,
        )
        ev.regs[reg.id] = reg
        assert answer["status"] == reg.status
        expected = [(f"{REG}.{'confirmed' if confirmed else 'waitlisted'}.v1", reg.id)]
        found = self.emitted()
        if kind == "guest" and n not in self.guests_known:  # a new guest's details, site-local, first
            self.guests_known.add(n)
            assert found[0][0] == "peerlink.guest-contact.recorded.v1"
            found = found[1:]
        assert found == expected
        if not confirmed:
            assert answer["position"] == 1 + sum(
                1
                for r in ev.waiting()
                if r.id != reg.id and (not r.priority, r.arrival) < (not reg.priority, reg.arrival)
            )
        return reg.id

    @rule(reg=registration_ids, reason=st.sampled_from(["by-participant", "by-organiser"]))
    def cancel_registration(self, reg: str, reason: str) -> None:
        if reg.startswith("refused-"):
            return
        ev = next(e for e in self.model.values() if reg in e.regs)
        mine = ev.regs[reg]
        answer = self.call("POST", f"/events/{ev.id}/registrations/{reg}/cancel", 200, json={"reason": reason})
        assert answer["status"] == "cancelled"
        if mine.status == "cancelled":
            assert self.emitted() == []  # again: nothing more happens
            return
        freed = mine.status == "confirmed"
        mine.status = "cancelled"
        promoted = ev.promote() if freed and not ev.cancelled else []
        assert self.emitted() == [(f"{REG}.cancelled.v1", reg)] + [(f"{REG}.promoted.v1", r) for r in promoted]


class SalesInvariants(EventsMachine):
    """Cards and originals sold, voided, at events that may be cancelled."""

    # Artworks and sales ----------------------------------------------------------------------

    @rule(target=artwork_ids, print_run=st.sampled_from([None, 1, 3]))
    def create_artwork(self, print_run: int | None) -> str:
        body = {"credit": "anonymous", "title": "Harbour", "artist_share_percent": 60, "print_run": print_run}
        made = self.call("POST", "/artworks", 201, json=body)
        self.art[made["id"]] = Art(made["id"], print_run)
        assert self.emitted() == []
        return made["id"]

    @rule(target=sale_ids, event=event_ids, artwork=artwork_ids, quantity=st.integers(1, 3))
    def sell_cards(self, event: str, artwork: str, quantity: int) -> str:
        art = self.art[artwork]
        status, answer = self.call(
            "POST",
            f"/events/{event}/sales",
            json={"kind": "cards", "artwork_id": artwork, "quantity": quantity, "unit_price_pence": 250},
        )
        left = None if art.print_run is None else art.print_run - art.cards_sold
        if self.model[event].cancelled or (left is not None and quantity > left):
            assert status == 409, answer
            assert self.emitted() == []
            return f"refused-{uuid.uuid4()}"
        assert status == 201, answer
        art.cards_sold += quantity
        self.sale_of[answer["id"]] = (artwork, "cards", quantity, False)
        assert self.emitted() == [("peerlink.sale.recorded.v1", answer["id"])]
        return answer["id"]

    @rule(target=sale_ids, event=event_ids, artwork=artwork_ids)
    def sell_original(self, event: str, artwork: str) -> str:
        art = self.art[artwork]
        status, answer = self.call(
            "POST", f"/events/{event}/sales", json={"kind": "artwork", "artwork_id": artwork, "unit_price_pence": 9000}
        )
        if self.model[event].cancelled or art.sold:
            assert status == 409, answer
            assert self.emitted() == []
            return f"refused-{uuid.uuid4()}"
        assert status == 201, answer
        art.sold = True
        self.sale_of[answer["id"]] = (artwork, "artwork", 1, False)
        assert self.emitted() == [("peerlink.sale.recorded.v1", answer["id"])]
        return answer["id"]

    @rule(sale=sale_ids)
    def void(self, sale: str) -> None:
        if sale.startswith("refused-"):
            return
        event = self._event_of_sale(sale)
        status, answer = self.call("POST", f"/events/{event}/sales/{sale}/void", json={"reason": "entered-in-error"})
        artwork, kind, quantity, voided = self.sale_of[sale]
        if voided:
            assert status == 409, answer
            assert self.emitted() == []
            return
        assert status == 200, answer
        self.sale_of[sale] = (artwork, kind, quantity, True)
        if artwork is not None:
            if kind == "cards":
                self.art[artwork].cards_sold -= quantity
            else:
                self.art[artwork].sold = False
        assert self.emitted() == [("peerlink.sale.voided.v1", sale)]

    def _event_of_sale(self, sale: str) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(sa.select(sales.c.event_id).where(sales.c.id == uuid.UUID(sale))).scalar_one())


def run(machine_class: type[EventsMachine], tmp_path: Path, tokens: Any, *, examples: int, steps: int) -> None:
    machine = type("Bound", (machine_class,), {"tokens": tokens, "counts": Counter()})
    started = time.perf_counter()
    with FreshApps(DEFINITION, tmp_path, tokens=tokens.config()) as machine.apps:
        run_state_machine_as_test(machine, settings=machine_settings(max_examples=examples, steps=steps))
    print(
        f"{machine_class.__name__}: {machine.counts.pop('examples')} examples, {machine.counts.pop('requests')} "
        f"requests in {time.perf_counter() - started:.1f} s; {dict(machine.counts)}"
    )


def test_any_sequence_of_bookings_keeps_the_invariants(tmp_path: Path, tokens) -> None:
    run(BookingsInvariants, tmp_path, tokens, examples=40, steps=25)


def test_any_sequence_of_sales_keeps_the_invariants(tmp_path: Path, tokens) -> None:
    run(SalesInvariants, tmp_path, tokens, examples=15, steps=15)
