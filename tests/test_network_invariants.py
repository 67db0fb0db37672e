"""Any sequence of referral, match and registration commands across referrals, matching and
events together keeps the network's promises. Hypothesis drives the three real apps, and their
events reach each other through each service's own handlers and inbox.

How it runs: each service is its real app (``create_app`` of its ``ServiceDefinition``) on a
SQLite database copied, for every example, from one template migrated once
(:class:`peerlink.testing.stateful.FreshApps`, as the per-service machines in
``services/*/tests/test_invariants.py`` use). A router (:class:`peerlink.testing.stateful.Router`)
takes what every command or delivery wrote to a service's outbox and queues it for every
service subscribed to its type: the other two, and matching itself for its own
``mentor.paused`` (its re-match worker, as in production). Each queue is delivered in order
through its consumer's handlers and inbox (:func:`peerlink.testing.stateful.deliver`). Hypothesis
chooses when: after each command (the default), or later while more commands are made
(events in flight), one consumer at a time in any interleaving. It also delivers some events
twice, at once or later in the queue, as a broker does after a lost acknowledgement.

There is no broker here, on purpose: RabbitMQ carrying these same envelopes (relay, confirms,
bindings on ``peerlink.events`` and ``peerlink.site-only``, retries and parking) is proven
elsewhere (``tests/test_network.py``, the relay and consumer tests in ``shared/tests``,
``tests/faults/``). What this proves is what the services make of each other's events,
whatever order they are delivered in.

After every step:

- no event is oversold (the places confirmed are the confirmed registrations' places, never
  more than the capacity) and the waiting lists are kept in order (nobody waits who fits;
  nobody is promoted past someone ahead of them who needed no more places);
- no mentor has more mentees than their capacity, counting proposals;
- no person has more than three open advocacy issues;
- every state change has exactly its events in its producer's outbox. The events are worked
  out from the change itself (``*_events`` below, written from the services' READMEs, not
  taken from their code). A refused command (4xx) changes nothing and writes no event; a
  delivered event likewise writes exactly the events of what its handler changed, and a
  redelivered one changes nothing;
- once nothing is in flight, the services agree: a referral is ``matched`` or ``active`` in
  referrals exactly when matching has a confirmed match for it (the referral's current one),
  and matching has a live request exactly for a referral accepted and waiting, matched or
  active (for the same person); a person erased in referrals has no personal data left in any
  of the three databases.

This machine found one disagreement, since fixed: a match ended as ``completed`` while its
referral was active put matching's request back to waiting, while referrals kept the referral
active (both as their READMEs said), so a run could confirm another mentor that referrals never
heard of. Matching now keeps such a request ``completed``; the test at the end of this module is
the machine's minimal example, by hand.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from events.app import DEFINITION as EVENTS
from events.handlers import subscriptions as events_subscriptions
from events.store import tables as events_tables
from matching import store as matching_store
from matching.app import DEFINITION as MATCHING
from matching.handlers import subscriptions as matching_subscriptions
from peerlink.outbox import Producer
from peerlink.tables import outbox
from peerlink.testing.stateful import Consumer, FreshApps, OutboxWatch, Router, machine_settings
from referrals import store as referrals_store
from referrals.app import DEFINITION as REFERRALS
from referrals.handlers import subscriptions as referrals_subscriptions

SITE = "ebbw-vale"
DEFINITIONS = {"referrals": REFERRALS, "matching": MATCHING, "events": EVENTS}
SUBSCRIPTIONS = {
    "referrals": referrals_subscriptions,
    "matching": matching_subscriptions,
    "events": events_subscriptions,
}
ROOT = Path(__file__).resolve().parents[1]


def service_model(service: str) -> ModuleType:
    """A service's own state machine module (not a package: loaded from its file, and not
    collected again), for the reference model written there."""
    path = ROOT / "services" / service / "tests" / "test_invariants.py"
    spec = importlib.util.spec_from_file_location(f"peerlink_network_model_of_{service}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# The people referred: names found nowhere else in any database (a scan for them after an
# erasure must not trip over "personal" or a mentor's name).
PEOPLE = [("Ceridwen", "Pritchard"), ("Angharad", "Prosser"), ("Eluned", "Bevan"), ("Myfanwy", "Tudor")]
MAX_REFERRALS = 5
MAX_MENTORS = 3
MAX_EVENTS = 3


def referral_body(n: int) -> dict[str, Any]:
    """Person ``n``'s referral: the same details again make a possible duplicate of them."""
    given, family = PEOPLE[n]
    return {
        "site": SITE,
        "person": {
            "given_name": given,
            "family_name": family,
            "date_of_birth": f"{1970 + n}-01-15",
            "preferred_language": "cy",
            "contact": {"email": f"{given.lower()}@example.org", "phone": f"+4477009001{n:02d}", "channels": ["email"]},
        },
        "source": "gp",
        "support_needs": ["alcohol"],
        "interests": ["art"],
        "availability": ["tue-pm"],
        # One of them did not agree to be counted centrally: her events go to peerlink.site-only.
        "consent": {"share_with_mentor": True, "counted_in_figures": n != 1, "wording_version": "2026-01"},
    }


def personal_details(n: int) -> tuple[str, ...]:
    """What names person ``n`` in a database: name, email, date of birth, phone."""
    body = referral_body(n)["person"]
    return (
        body["given_name"],
        body["family_name"],
        body["contact"]["email"],
        body["date_of_birth"],
        body["contact"]["phone"].removeprefix("+44"),
    )


# Each service's own reference model, written from its README in its own state machine
# (services/*/tests/test_invariants.py): referrals' workflow, (status, action) -> new status with
# the rest refused, and the event of each action; a mentor as matching's machine registers one.
REFERRALS_MODEL, MATCHING_MODEL = (service_model(name) for name in ("referrals", "matching"))
LEGAL = REFERRALS_MODEL.LEGAL
HELD_FOR_DUPLICATE_CHECK = REFERRALS_MODEL.HELD_FOR_DUPLICATE_CHECK
BODIES = REFERRALS_MODEL.BODIES
EVENT_OF_ACTION = REFERRALS_MODEL.EVENT_OF
mentor_body = MATCHING_MODEL.mentor_body

# A match's road as matching's README draws it; each step on it is one match.* event.
MATCH_ROAD = {
    "proposed": ("proposed",),
    "confirmed": ("proposed", "confirmed"),
    "ended": ("proposed", "confirmed", "ended"),
    "declined": ("proposed", "declined"),
    "cancelled": ("proposed", "cancelled"),
}
LIVE_MATCH = ("proposed", "confirmed")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _full(event_type: str, subject: str) -> tuple[str, str]:
    return f"peerlink.{event_type}.v1", subject


# What each service holds that its events speak of, and the events a change of it makes --------


def referrals_state(conn: sa.Connection) -> dict[tuple[str, str], Any]:
    t = referrals_store
    state: dict[tuple[str, str], Any] = {}
    for r in conn.execute(
        sa.select(t.referrals.c.id, t.referrals.c.status, t.referrals.c.person_id, t.referrals.c.current_match_id)
    ):
        state["referral", str(r.id)] = (r.status, str(r.person_id), _text(r.current_match_id))
    for r in conn.execute(sa.select(t.transitions.c.id, t.transitions.c.referral_id, t.transitions.c.action)):
        state["transition", str(r.id)] = (str(r.referral_id), r.action)
    p = t.people.c
    for r in conn.execute(sa.select(p.id, p.given_name, p.family_name, p.date_of_birth, p.email, p.phone, p.erased_at)):
        state["person", str(r.id)] = (r.given_name, r.family_name, r.date_of_birth, r.email, r.phone, bool(r.erased_at))
    d = t.possible_duplicates.c
    for r in conn.execute(sa.select(d.referral_id, d.person_id, d.resolution, d.contact_details_applied)):
        state["duplicate", str(r.referral_id)] = (str(r.person_id), r.resolution, r.contact_details_applied)
    for r in conn.execute(sa.select(t.advocacy_issues.c.id, t.advocacy_issues.c.resolved_at)):
        state["issue", str(r.id)] = r.resolved_at is not None
    return state


def referrals_events(before: dict[tuple[str, str], Any], after: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    """A referral received, each transition recorded, a new person's details, a possible
    duplicate answered (and the details it applied), an issue opened or resolved, an erasure."""
    expected = []
    details_applied = set()
    for (kind, ident), now in after.items():
        was = before.get((kind, ident))
        if kind == "referral" and was is None:
            expected.append(_full("referral.received", ident))
        elif kind == "transition" and was is None:
            referral, action = now
            expected.append(_full(f"referral.{EVENT_OF_ACTION[action]}", referral))
        elif kind == "person" and was is None:
            expected.append(_full("contact.recorded", ident))
        elif kind == "person" and now[-1] and not was[-1]:
            expected.append(_full("person.erased", ident))
        elif kind == "duplicate" and was is not None and was[1] is None and now[1] not in (None, "erased"):
            # Answered (an erasure closes the question silently: person.erased says the rest).
            expected.append(_full("referral.person-resolved", ident))
            if now[2]:
                expected.append(_full("contact.recorded", now[0]))
                details_applied.add(now[0])
        elif kind == "issue" and was is None:
            expected.append(_full("advocacy.opened", ident))
        elif kind == "issue" and now and not was:
            expected.append(_full("advocacy.resolved", ident))
    for (kind, ident), now in after.items():
        was = before.get((kind, ident))
        if kind == "person" and was is not None and now != was and not now[-1]:
            assert ident in details_applied, f"person {ident}'s details changed without contact.recorded"
        if kind == "referral" and was is not None and now[0] != was[0]:
            moved = [k for k in after if k[0] == "transition" and k not in before and after[k][0] == ident]
            assert moved, f"referral {ident} went from {was[0]} to {now[0]} without a transition"
    return expected


def matching_state(conn: sa.Connection) -> dict[tuple[str, str], Any]:
    t = matching_store
    state: dict[tuple[str, str], Any] = {}
    for r in conn.execute(sa.select(t.mentors.c.id, t.mentors.c.status, t.mentors.c.capacity)):
        state["mentor", str(r.id)] = (r.status, r.capacity)
    for r in conn.execute(sa.select(t.matches.c.id, t.matches.c.status)):
        state["match", str(r.id)] = r.status
    return state


def matching_events(before: dict[tuple[str, str], Any], after: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    """Each step along a match's road; a mentor registered (and their contact), paused,
    resumed, given another capacity. Requests change with no event of their own."""
    expected = []
    for (kind, ident), now in after.items():
        was = before.get((kind, ident))
        if kind == "match":
            done = MATCH_ROAD[was] if was else ()
            road = MATCH_ROAD[now]
            assert road[: len(done)] == done, f"match {ident} went from {was} to {now}"
            expected += [_full(f"match.{step}", ident) for step in road[len(done) :]]
        elif kind == "mentor" and was is None:
            expected += [_full("mentor.registered", ident), _full("mentor-contact.recorded", ident)]
        elif kind == "mentor":
            if (was[0], now[0]) == ("active", "paused"):
                expected.append(_full("mentor.paused", ident))
            elif (was[0], now[0]) == ("paused", "active"):
                expected.append(_full("mentor.resumed", ident))
            else:
                assert was[0] == now[0], f"mentor {ident} went from {was[0]} to {now[0]}"
            if was[1] != now[1]:
                expected.append(_full("mentor.updated", ident))
    return expected


def registration_road(row: Any) -> tuple[str, ...]:
    first = "waitlisted" if row.waitlisted_at else "confirmed"
    return (first,) + (("promoted",) if row.promoted_at else ()) + (("cancelled",) if row.cancelled_at else ())


def events_state(conn: sa.Connection) -> dict[tuple[str, str], Any]:
    t = events_tables
    state: dict[tuple[str, str], Any] = {}
    for r in conn.execute(sa.select(t.events.c.id, t.events.c.capacity)):
        state["event", str(r.id)] = r.capacity
    for r in conn.execute(sa.select(t.registrations)):
        state["registration", str(r.id)] = (registration_road(r), str(r.event_id), r.places, r.priority, r.queue_number)
    return state


def events_events(before: dict[tuple[str, str], Any], after: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    """An event scheduled; each step of a registration's road (confirmed or waitlisted, then
    promoted, then cancelled)."""
    expected = []
    for (kind, ident), now in after.items():
        was = before.get((kind, ident))
        if kind == "event" and was is None:
            expected.append(_full("artevent.scheduled", ident))
        elif kind == "registration":
            done, road = (was[0] if was else ()), now[0]
            assert road[: len(done)] == done, f"registration {ident} went from {done} to {road}"
            expected += [_full(f"registration.{step}", ident) for step in road[len(done) :]]
    promoted_in_order(before, after)
    return expected


def promoted_in_order(before: dict[tuple[str, str], Any], after: dict[tuple[str, str], Any]) -> None:
    """Promotion goes down the waiting list in order, each that fits taking its places: so
    someone still waiting ahead of a registration promoted now needed more places than it."""
    promoted = [
        now
        for key, now in after.items()
        if key[0] == "registration" and key in before and "promoted" in now[0] and "promoted" not in before[key][0]
    ]
    waiting = [now for key, now in after.items() if key[0] == "registration" and now[0][-1] == "waitlisted"]
    for went_up in promoted:
        for still in waiting:
            ahead = (not still[3], still[4]) < (not went_up[3], went_up[4])
            if still[1] == went_up[1] and ahead:
                assert still[2] > went_up[2], "promoted past someone ahead who needed no more places"


STATE = {"referrals": referrals_state, "matching": matching_state, "events": events_state}
EVENTS_OF_CHANGE = {"referrals": referrals_events, "matching": matching_events, "events": events_events}


@dataclass
class Service:
    name: str
    app: Flask
    path: Path
    client: Any
    engine: sa.Engine
    watch: OutboxWatch

    def state(self) -> dict[tuple[str, str], Any]:
        with self.engine.connect() as conn:
            return STATE[self.name](conn)


class NetworkInvariants(RuleBasedStateMachine):
    apps: dict[str, FreshApps]
    tokens: Any
    counts: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        self.services: dict[str, Service] = {}
        for name, apps in self.apps.items():
            app, path = apps.new()
            engine = app.extensions["peerlink"].engine
            self.services[name] = Service(name, app, path, app.test_client(), engine, OutboxWatch(engine))
        self.router = Router(
            [
                Consumer(name, service.engine, SUBSCRIPTIONS[name], Producer(SITE, name))
                for name, service in self.services.items()
            ]
        )
        self.holding = False  # events stay in flight while commands go on, until delivered
        # What was made, in the order it was made: a drawn index names the same one on replay.
        self.referrals: list[str] = []
        self.body_of: dict[str, int] = {}  # referral -> the referral_body it came with
        self.flagged: list[str] = []  # referrals linked to someone known: a possible duplicate
        self.people: list[str] = []
        self.details_of: dict[str, int] = {}  # person -> whose details (referral_body n) they hold
        self.issues: list[tuple[str, str]] = []  # (person, issue)
        self.mentors: list[str] = []
        self.matches: list[str] = []
        self.runs: list[str] = []
        self.events: list[str] = []
        self.registrations: list[tuple[str, str]] = []  # (event, registration)
        self.group = self.command("events", "POST", "/groups", {201}, json=GROUP)[1]["id"]
        self.counts["examples"] += 1

    def teardown(self) -> None:
        for service in self.services.values():
            FreshApps.close(service.app, service.path)

    # Commands and deliveries, each checked for exactly the events of what it changed ---------

    def command(
        self, service: str, method: str, path: str, allowed: set[int], **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        """A request to a service's API. Success writes exactly the events of what it changed,
        a refusal (4xx) changes nothing and writes none; then the events go on their way."""
        target = self.services[service]
        before = target.state()
        response = target.client.open(path, method=method, headers=self.tokens.header(), **kwargs)
        status, body = response.status_code, response.get_json(silent=True) or {}
        assert status in allowed, (method, path, status, body)
        emitted = target.watch.new()
        after = target.state()
        found = sorted((e.type, e.subject) for e in emitted)
        if status >= 400:
            self.counts[f"{service} refused"] += 1
            assert found == [], f"a refused {method} {path} wrote {found}"
            assert after == before, f"a refused {method} {path} changed {service}"
        else:
            self.counts[f"{service} changed"] += 1
            assert found == sorted(EVENTS_OF_CHANGE[service](before, after)), (method, path)
        self.counts["requests"] += 1
        self.router.route(emitted)
        if not self.holding:
            self.drain_in_order()
        return status, body

    def deliver_next(self, consumer: str) -> None:
        target = self.services[consumer]
        before = target.state()
        envelope, outcome = self.router.deliver_next(consumer)
        self.after_delivery(target, before, envelope, outcome)

    def after_delivery(self, target: Service, before: Any, envelope: Any, outcome: Any) -> None:
        assert outcome.failures == [], outcome.failures
        emitted = target.watch.new()
        after = target.state()
        found = sorted((e.type, e.subject) for e in emitted)
        if outcome.duplicates:
            self.counts["duplicates delivered"] += 1
            assert found == [] and after == before, f"a redelivered {envelope.type} had an effect on {target.name}"
        else:
            self.counts["events delivered"] += 1
            assert found == sorted(EVENTS_OF_CHANGE[target.name](before, after)), (target.name, envelope.type)
        self.router.route(emitted)

    def drain_in_order(self) -> None:
        for _ in range(500):
            busy = self.router.busy()
            if not busy:
                return
            self.deliver_next(busy[0])
        raise AssertionError("the services kept answering each other's events without end")

    # The site as each example begins with it --------------------------------------------------

    @initialize(capacities=st.tuples(st.integers(1, 2), st.integers(1, 2)), capacity=st.integers(1, 3))
    def a_small_site(self, capacities: tuple[int, int], capacity: int) -> None:
        """Two mentors, two people accepted and waiting, an event: random steps seldom get there."""
        for places in capacities:
            self.register_mentor(places)
        for n in (0, 1):
            self.intake(n)
            self.act(self.referrals[-1], "accept")
        self.create_event(capacity)

    # Referrals ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.referrals) < MAX_REFERRALS)
    @rule(n=st.sampled_from([0, 0, 1, 2, 3]))  # the first person often again: a possible duplicate
    def intake(self, n: int) -> None:
        _, body = self.command("referrals", "POST", "/referrals", {201}, json=referral_body(n))
        self.referrals.append(body["id"])
        self.body_of[body["id"]] = n
        if body["duplicate_pending"]:
            self.flagged.append(body["id"])
        if body["person_id"] not in self.details_of:
            self.people.append(body["person_id"])
            self.details_of[body["person_id"]] = n

    @precondition(lambda self: self.referrals)
    @rule(
        data=st.data(), action=st.sampled_from(["accept", "accept", "decline", "withdraw", "start", "close", "reopen"])
    )
    def referral_action(self, data: st.DataObject, action: str) -> None:
        self.act(data.draw(st.sampled_from(self.referrals)), action)

    def act(self, referral: str, action: str) -> None:
        with self.services["referrals"].engine.connect() as conn:
            r, p = referrals_store.referrals.c, referrals_store.people.c
            row = conn.execute(
                sa.select(r.status, r.duplicate_pending, p.erased_at)
                .join_from(referrals_store.referrals, referrals_store.people, r.person_id == p.id)
                .where(r.id == uuid.UUID(referral))
            ).one()
        legal = (
            (row.status, action) in LEGAL
            and not (row.duplicate_pending and action in HELD_FOR_DUPLICATE_CHECK)
            and row.erased_at is None  # nothing more is recorded about someone erased
        )
        path = f"/referrals/{referral}/{action}"
        self.command("referrals", "POST", path, {200} if legal else {409}, json=BODIES.get(action, {}))

    @precondition(lambda self: self.flagged)
    @rule(data=st.data(), decision=st.sampled_from(["same-person", "different-person"]), apply=st.booleans())
    def resolve_possible_duplicate(self, data: st.DataObject, decision: str, apply: bool) -> None:
        referral = data.draw(st.sampled_from(self.flagged))
        open_question = self.duplicate_open(referral)
        _, body = self.command(
            "referrals",
            "POST",
            f"/referrals/{referral}/duplicate-check/resolve",
            {200} if open_question else {409},
            json={"decision": decision, "apply_contact_details": apply and decision == "same-person"},
        )
        if open_question and decision == "different-person":
            self.people.append(body["new_person_id"])
            self.details_of[body["new_person_id"]] = self.body_of[referral]

    def duplicate_open(self, referral: str) -> bool:
        d = referrals_store.possible_duplicates.c
        with self.services["referrals"].engine.connect() as conn:
            resolution = conn.execute(sa.select(d.resolution).where(d.referral_id == uuid.UUID(referral))).scalar_one()
        return resolution is None

    @precondition(lambda self: self.people)
    @rule(data=st.data(), category=st.sampled_from(["housing", "benefits"]))
    def open_advocacy_issue(self, data: st.DataObject, category: str) -> None:
        person = data.draw(st.sampled_from(self.people))
        a = referrals_store.advocacy_issues.c
        with self.services["referrals"].engine.connect() as conn:
            open_now = conn.execute(
                sa.select(sa.func.count()).where(a.person_id == uuid.UUID(person), a.resolved_at.is_(None))
            ).scalar_one()
        status, body = self.command(
            "referrals",
            "POST",
            f"/people/{person}/advocacy-issues",
            {409} if open_now >= 3 or self.services["referrals"].state()["person", person][-1] else {201},
            json={"category": category, "summary": "A letter from the council."},
        )
        if status == 201:
            self.issues.append((person, body["id"]))

    @precondition(lambda self: self.issues)
    @rule(data=st.data())
    def resolve_advocacy_issue(self, data: st.DataObject) -> None:
        person, issue = data.draw(st.sampled_from(self.issues))
        resolved = self.services["referrals"].state()["issue", issue]
        erased = self.services["referrals"].state()["person", person][-1]  # nothing recorded about her now
        path = f"/people/{person}/advocacy-issues/{issue}/resolve"
        self.command("referrals", "POST", path, {409} if resolved or erased else {200}, json={"resolution": "resolved"})

    @precondition(lambda self: self.people)
    @rule(data=st.data())
    def erase_person(self, data: st.DataObject) -> None:
        person = data.draw(st.sampled_from(self.people))
        self.command("referrals", "DELETE", f"/people/{person}", {204})
        self.counts["erasures"] += 1

    # Matching ----------------------------------------------------------------------------------

    @precondition(lambda self: len(self.mentors) < MAX_MENTORS)
    @rule(capacity=st.integers(1, 3))
    def register_mentor(self, capacity: int) -> None:
        _, body = self.command("matching", "POST", "/mentors", {201}, json=mentor_body(capacity))
        self.mentors.append(body["id"])

    @precondition(lambda self: self.mentors)
    @rule(data=st.data(), pause=st.booleans())
    def pause_or_resume_mentor(self, data: st.DataObject, pause: bool) -> None:
        mentor = data.draw(st.sampled_from(self.mentors))
        status = self.services["matching"].state()["mentor", mentor][0]
        if pause:
            body = {"reason": "burnout"}
            self.command(
                "matching", "POST", f"/mentors/{mentor}/pause", {200} if status == "active" else {409}, json=body
            )
        else:
            self.command(
                "matching", "POST", f"/mentors/{mentor}/resume", {200} if status == "paused" else {409}, json={}
            )

    @precondition(lambda self: self.referrals and self.mentors)
    @rule(data=st.data(), confirm=st.booleans())
    def propose_any_pair(self, data: st.DataObject, confirm: bool) -> None:
        """Anyone referred with any mentor: refused unless matching has them waiting and may pair them."""
        request, mentor = data.draw(st.sampled_from(self.referrals)), data.draw(st.sampled_from(self.mentors))
        self.propose(request, mentor, confirm, {201, 404, 409})

    @precondition(lambda self: self.referrals and self.mentors)
    @rule(data=st.data(), confirm=st.booleans())
    def propose_where_there_is_room(self, data: st.DataObject, confirm: bool) -> None:
        """A waiting request and a mentor with room who was never turned down for them."""
        pairs = self.open_pairs()
        if pairs:
            self.propose(*data.draw(st.sampled_from(pairs)), confirm, {201})

    def propose(self, request: str, mentor: str, confirm: bool, allowed: set[int]) -> None:
        body = {"request_id": request, "mentor_id": mentor, "confirm": confirm}
        status, made = self.command("matching", "POST", "/matches", allowed, json=body)
        if status == 201:
            self.matches.append(made["id"])

    def open_pairs(self) -> list[tuple[str, str]]:
        m = matching_store
        with self.services["matching"].engine.connect() as conn:
            waiting = {str(i) for i in conn.execute(sa.select(m.requests.c.id).where(m.requests.c.status == "waiting"))}
            rows = conn.execute(sa.select(m.matches.c.request_id, m.matches.c.mentor_id, m.matches.c.status)).all()
            mentors = conn.execute(sa.select(m.mentors.c.id, m.mentors.c.status, m.mentors.c.capacity)).all()
        taken = Counter(str(r.mentor_id) for r in rows if r.status in LIVE_MATCH)
        tried = {(str(r.request_id), str(r.mentor_id)) for r in rows if r.status in ("declined", "ended")}
        room = {str(r.id) for r in mentors if r.status == "active" and taken[str(r.id)] < r.capacity}
        return [
            (request, mentor)
            for request in self.referrals
            if request in waiting
            for mentor in self.mentors
            if mentor in room and (request, mentor) not in tried
        ]

    @precondition(lambda self: self.matches)
    @rule(data=st.data(), step=st.sampled_from(["confirm", "decline", "end-not-a-fit", "end-completed"]))
    def match_step(self, data: st.DataObject, step: str) -> None:
        match = data.draw(st.sampled_from(self.matches))
        status = self.services["matching"].state()["match", match]
        if step == "confirm":
            self.command(
                "matching", "POST", f"/matches/{match}/confirm", {200} if status == "proposed" else {409}, json={}
            )
        elif step == "decline":
            body = {"declined_by": "coordinator", "reason": "not-a-fit"}
            allowed = {200} if status == "proposed" else {409}
            self.command("matching", "POST", f"/matches/{match}/decline", allowed, json=body)
        else:
            body = {"reason": step.removeprefix("end-"), "never_pair_again": False}
            allowed = {200} if status == "confirmed" else {409}
            self.command("matching", "POST", f"/matches/{match}/end", allowed, json=body)

    @precondition(lambda self: self.mentors and len(self.runs) < 3)
    @rule()
    def plan_matching_run(self) -> None:
        _, run = self.command("matching", "POST", "/matching-runs", {201}, json={})
        self.runs.append(run["id"])

    @precondition(lambda self: self.runs)
    @rule(data=st.data(), confirm=st.booleans())
    def publish_matching_run(self, data: st.DataObject, confirm: bool) -> None:
        """A draft, published perhaps long after it was planned: each pair is checked again."""
        run = data.draw(st.sampled_from(self.runs))
        with self.services["matching"].engine.connect() as conn:
            status = conn.execute(
                sa.select(matching_store.runs.c.status).where(matching_store.runs.c.id == uuid.UUID(run))
            ).scalar_one()
        path = f"/matching-runs/{run}/publish"
        _, published = self.command(
            "matching", "POST", path, {200} if status == "draft" else {409}, json={"confirm": confirm}
        )
        self.matches += [p["match_id"] for p in published.get("proposals", []) if p.get("match_id")]

    # Events ------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.events) < MAX_EVENTS)
    @rule(capacity=st.integers(1, 3))
    def create_event(self, capacity: int) -> None:
        day = (datetime.now(UTC) + timedelta(days=7)).date()
        body = {
            "group_id": self.group,
            "kind": "group-session",
            "title_cy": "Sesiwn gelf",
            "title_en": "Art session",
            "starts_at": f"{day}T10:00:00",
            "ends_at": f"{day}T12:00:00",
            "capacity": capacity,
            "public": False,
        }
        self.events.append(self.command("events", "POST", "/events", {201}, json=body)[1]["id"])

    @precondition(lambda self: self.events and self.people)
    @rule(data=st.data(), with_mentor=st.booleans(), places=st.sampled_from([None, None, 2, 3]))
    def register_participant(self, data: st.DataObject, with_mentor: bool, places: int | None) -> None:
        """Someone referred (by person id), with their mentor if they have one."""
        living = self.living_people()
        if not living:
            return
        event, person = data.draw(st.sampled_from(self.events)), data.draw(st.sampled_from(living))
        mentor = self.mentor_of(person) if with_mentor else None
        if mentor is None and places == 3:
            places = 1
        body = {"person_id": person, "mentor_id": mentor, "places": places}
        status, made = self.command("events", "POST", f"/events/{event}/registrations", {201, 409}, json=body)
        if status == 201:
            self.registrations.append((event, made["id"]))

    def living_people(self) -> list[str]:
        """Not erased: a coordinator books people the site still knows."""
        state = self.services["referrals"].state()
        return [p for p in self.people if not state["person", p][-1]]

    def mentor_of(self, person: str) -> str | None:
        m = matching_store.matches.c
        with self.services["matching"].engine.connect() as conn:
            mentor = conn.execute(
                sa.select(m.mentor_id).where(m.person_id == uuid.UUID(person), m.status == "confirmed").limit(1)
            ).scalar_one_or_none()
        return _text(mentor)

    @precondition(lambda self: self.registrations)
    @rule(data=st.data())
    def cancel_registration(self, data: st.DataObject) -> None:
        event, registration = data.draw(st.sampled_from(self.registrations))
        path = f"/events/{event}/registrations/{registration}/cancel"
        self.command("events", "POST", path, {200}, json={"reason": "by-participant"})

    # The events on their way -------------------------------------------------------------------

    @precondition(lambda self: not self.holding)
    @rule()
    def hold_events_in_flight(self) -> None:
        """From now on, commands go on while their events wait in the queues."""
        self.holding = True

    @precondition(lambda self: self.router.in_flight)
    @rule(data=st.data(), count=st.integers(1, 3))
    def deliver_some(self, data: st.DataObject, count: int) -> None:
        """The next few events of one consumer's queue (the others wait): any interleaving."""
        consumer = data.draw(st.sampled_from(self.router.busy()))
        for _ in range(min(count, len(self.router.queues[consumer]))):
            self.deliver_next(consumer)

    @precondition(lambda self: self.router.in_flight or self.holding)
    @rule(data=st.data())
    def deliver_everything(self, data: st.DataObject) -> None:
        """Every queue delivered to the end, in an order hypothesis picks; then no more holding."""
        self.holding = False
        while self.router.in_flight:
            self.deliver_next(data.draw(st.sampled_from(self.router.busy())))

    @precondition(lambda self: self.router.in_flight)
    @rule(data=st.data())
    def duplicate_in_flight(self, data: st.DataObject) -> None:
        """The broker will deliver this one twice (a lost acknowledgement): a copy joins the queue."""
        consumer = data.draw(st.sampled_from(self.router.busy()))
        queue = self.router.queues[consumer]
        queue.append(queue[data.draw(st.integers(0, len(queue) - 1))])

    @precondition(lambda self: self.router.delivered)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """An event already handled, delivered again now."""
        consumer, envelope = data.draw(st.sampled_from(self.router.delivered))
        target = self.services[consumer]
        before = target.state()
        outcome = self.router.deliver(consumer, envelope)
        assert outcome.duplicates == 1, outcome
        self.after_delivery(target, before, envelope, outcome)

    # What must hold after every step -----------------------------------------------------------

    @invariant()
    def no_event_oversold_and_nobody_waits_who_fits(self) -> None:
        t = events_tables
        with self.services["events"].engine.connect() as conn:
            events = conn.execute(sa.select(t.events.c.id, t.events.c.capacity, t.events.c.places_confirmed)).all()
            held = conn.execute(
                sa.select(t.registrations.c.event_id, t.registrations.c.places, t.registrations.c.status)
            ).all()
        for event in events:
            mine = [r for r in held if r.event_id == event.id]
            confirmed = sum(r.places for r in mine if r.status == "confirmed")
            assert event.places_confirmed == confirmed
            assert event.capacity is None or confirmed <= event.capacity, "oversold"
            free = None if event.capacity is None else event.capacity - confirmed
            for waiting in (r for r in mine if r.status == "waitlisted"):
                assert free is not None and waiting.places > free, "left waiting although the places fit"

    @invariant()
    def no_mentor_over_capacity(self) -> None:
        m = matching_store
        with self.services["matching"].engine.connect() as conn:
            capacity = dict(conn.execute(sa.select(m.mentors.c.id, m.mentors.c.capacity)).all())
            live = conn.execute(sa.select(m.matches.c.mentor_id).where(m.matches.c.status.in_(LIVE_MATCH))).scalars()
            taken = Counter(live)
        for mentor, count in taken.items():
            assert count <= capacity[mentor], f"mentor over capacity: {count} of {capacity[mentor]}"

    @invariant()
    def at_most_three_open_advocacy_issues(self) -> None:
        a = referrals_store.advocacy_issues.c
        with self.services["referrals"].engine.connect() as conn:
            most = conn.execute(
                sa.select(sa.func.count()).where(a.resolved_at.is_(None)).group_by(a.person_id)
            ).scalars()
            assert max(most, default=0) <= 3

    @invariant()
    def once_delivered_referrals_and_matching_agree(self) -> None:
        if self.router.in_flight:
            return
        self.counts["agreement checked"] += 1
        assert_referrals_and_matching_agree(self.services)

    @invariant()
    def once_delivered_an_erased_person_is_gone_everywhere(self) -> None:
        if self.router.in_flight:
            return
        with self.services["referrals"].engine.connect() as conn:
            p = referrals_store.people.c
            erased = {str(i) for i in conn.execute(sa.select(p.id).where(p.erased_at.is_not(None))).scalars()}
        if erased:
            self.counts["erasure checked"] += 1
            if assert_nothing_left_of(erased, self.details_of, self.services):
                self.counts["erased details searched for"] += 1


class Disagreement(AssertionError):
    """Referrals and matching say different things about a referral, with nothing in flight."""


def agree(holds: bool, what: str) -> None:
    if not holds:
        raise Disagreement(what)


GROUP = {"name_cy": "Grŵp celf", "name_en": "Art group", "usual_venue": "The Institute"}


def assert_referrals_and_matching_agree(services: dict[str, Service]) -> None:
    """Referrals' referrals and matching's requests and matches say the same, nothing in flight."""
    r, m = referrals_store, matching_store
    with services["referrals"].engine.connect() as conn:
        referrals = {
            str(row.id): row
            for row in conn.execute(
                sa.select(
                    r.referrals.c.id, r.referrals.c.status, r.referrals.c.person_id, r.referrals.c.current_match_id
                )
            )
        }
        erased = {
            str(i) for i in conn.execute(sa.select(r.people.c.id).where(r.people.c.erased_at.is_not(None))).scalars()
        }
    with services["matching"].engine.connect() as conn:
        requests = {
            str(row.id): row
            for row in conn.execute(
                sa.select(m.requests.c.id, m.requests.c.status, m.requests.c.person_id, m.requests.c.current_match_id)
            )
        }
        matches = {
            row.id: row
            for row in conn.execute(
                sa.select(m.matches.c.id, m.matches.c.request_id, m.matches.c.status, m.matches.c.end_reason)
            )
        }
    for referral_id, referral in referrals.items():
        request = requests.get(referral_id)
        status = referral.status
        where = f"referral {status}, request {request.status if request else 'none'}"
        if request is not None:
            agree(request.person_id == referral.person_id, f"{where}: not the same person")
        if str(referral.person_id) in erased:
            agree(request is None or request.status == "erased", f"{where}: the person was erased")
        elif status in ("received", "declined"):
            agree(request is None, where)
        elif status == "accepted":
            agree(request is not None and request.status in ("waiting", "proposed"), where)
        elif status == "active" and request is not None and request.status == "completed":
            # Mentoring completed: the referral waits for its coordinator to close it, nobody new.
            agree(request.current_match_id == referral.current_match_id, f"{where}: another match")
            match = matches.get(request.current_match_id)
            agree((match.status, match.end_reason) == ("ended", "completed"), f"{where}: {match}")
        elif status in ("matched", "active"):
            agree(request is not None and request.status == "matched", where)
            agree(request.current_match_id == referral.current_match_id, f"{where}: another match")
            agree(getattr(matches.get(request.current_match_id), "status", None) == "confirmed", where)
        elif status == "withdrawn":
            agree(request is None or request.status == "withdrawn", where)
        elif status == "closed":
            agree(request is not None and request.status == "closed", where)
    for request_id, request in requests.items():
        agree(request_id in referrals, f"a request {request.status} for no referral")
    for match in matches.values():
        if match.status == "confirmed":
            referral = referrals[str(match.request_id)]
            agree(referral.status in ("matched", "active"), f"a confirmed match, the referral {referral.status}")
            agree(referral.current_match_id == match.id, "a confirmed match referrals does not know")


def assert_nothing_left_of(erased: set[str], details_of: dict[str, int], services: dict[str, Service]) -> int:
    """Nothing personal about the erased people in any table of any of the three databases:
    their names, email, phone and date of birth nowhere (unless someone not erased shares them:
    a person told apart from them, or referred again after the erasure), and what each service
    says it erases on ``person.erased`` gone: matching's needs (its ids stay: pseudonymous),
    events' person ids on registrations, places and consent. Returns how many details were
    searched for (none when every erased person's are someone else's too)."""
    living = {n for person, n in details_of.items() if person not in erased}
    gone = {n for person, n in details_of.items() if person in erased} - living
    needles = [value.lower() for n in sorted(gone) for value in personal_details(n)]
    for service in services.values():
        with service.engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    text = " ".join(str(value) for value in row).lower()
                    found = [needle for needle in needles if needle in text]
                    assert not found, f"{found} left in {service.name}.{table} after erasure: {row}"
    ids = [uuid.UUID(person) for person in erased]
    m = matching_store.requests.c
    with services["matching"].engine.connect() as conn:
        left = conn.execute(
            sa.select(m.id, m.status, m.support_needs).where(m.person_id.in_(ids), m.status != "erased")
        ).all()
        assert left == [], f"matching kept an erased person's request: {left}"
        kept = conn.execute(
            sa.select(sa.func.count()).where(m.person_id.in_(ids), m.support_needs != "[]")
        ).scalar_one()
        assert kept == 0, "matching kept an erased person's needs"
    e = events_tables
    with services["events"].engine.connect() as conn:
        for table in (e.registrations, e.places_held, e.participants):
            count = conn.execute(sa.select(sa.func.count()).where(table.c.person_id.in_(ids))).scalar_one()
            assert count == 0, f"events kept an erased person's id in {table.name}"
    with services["referrals"].engine.connect() as conn:
        a = referrals_store.advocacy_issues.c
        summaries = conn.execute(sa.select(a.summary).where(a.person_id.in_(ids), a.summary.is_not(None))).all()
        assert summaries == [], "an erased person's advocacy summaries were kept"
        private = conn.execute(
            sa.select(sa.func.count()).where(outbox.c.exchange == "peerlink.private", outbox.c.subject.in_(erased))
        ).scalar_one()
        assert private == 0, "an erased person's contact details wait in the outbox"
    return len(needles)


def network_machine(tmp_path: Path, tokens: Any) -> tuple[type[NetworkInvariants], dict[str, FreshApps]]:
    apps = {name: FreshApps(definition, tmp_path, tokens=tokens.config()) for name, definition in DEFINITIONS.items()}
    machine = type("Bound", (NetworkInvariants,), {"tokens": tokens, "counts": Counter(), "apps": apps})
    return machine, apps


def test_any_sequence_of_commands_across_the_services_keeps_the_invariants(tmp_path: Path, tokens) -> None:
    machine, apps = network_machine(tmp_path, tokens)
    started = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=machine_settings(max_examples=25, steps=30))
    finally:
        for fresh in apps.values():
            fresh.__exit__()
    counts = defaultdict(int, machine.counts)
    print(
        f"network invariants: {counts.pop('examples')} examples, {counts.pop('requests')} requests "
        f"in {time.perf_counter() - started:.1f} s; {dict(sorted(counts.items()))}"
    )
    # The run reached what it checks: the checks with nothing in flight, an erasure searched for,
    # events delivered late and twice, and refusals as well as changes in every service.
    reached = ["agreement checked", "erased details searched for", "events delivered", "duplicates delivered"]
    reached += [f"{service} {outcome}" for service in DEFINITIONS for outcome in ("changed", "refused")]
    assert not [what for what in reached if counts[what] == 0], f"never reached: {counts}"


def test_a_match_completed_while_the_referral_is_active_leaves_the_services_agreeing(tmp_path: Path, tokens) -> None:
    """The machine's minimal example, by hand: referred, accepted, matched, started, the match
    ended as completed; with nothing in flight, referrals and matching agree (the referral
    active for closing, the request completed), and a run proposes nobody for it."""
    machine, apps = network_machine(tmp_path, tokens)
    network = machine()
    try:
        network.register_mentor(1)
        network.intake(0)
        referral = network.referrals[0]
        network.act(referral, "accept")
        network.propose(referral, network.mentors[0], True, {201})
        network.act(referral, "start")
        match = network.matches[0]
        network.command(
            "matching", "POST", f"/matches/{match}/end", {200}, json={"reason": "completed", "never_pair_again": False}
        )
        assert network.router.in_flight == 0
        assert_referrals_and_matching_agree(network.services)
        network.register_mentor(1)
        network.propose(referral, network.mentors[1], True, {409})  # nobody new: mentoring is done
        network.act(referral, "close")
        assert network.router.in_flight == 0
        assert_referrals_and_matching_agree(network.services)
    finally:
        network.teardown()
        for fresh in apps.values():
            fresh.__exit__()
