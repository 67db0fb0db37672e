"""Any sequence of referrals arriving (referrals' events, through matching's own handlers and
inbox), proposals, confirmations, declines, endings, capacity changes and mentors paused and
resumed keeps the promises of matching (hypothesis drives the real API on a real database):

- no mentor ever has more mentees (confirmed and proposed) than their capacity;
- each request has at most one live match, and it is the request's current match;
- each change writes its events to the outbox; a refusal (409, 422, 404) writes none and
  changes nothing in the database (every table compared before and after).

A reference model (plain Python below) says what each command should do: whether it is
refused, and what mentors, requests and matches become. After every step the database must
hold what the model holds. Re-match proposals made by matching's own worker are optimal, so
the model checks them rather than predicting them: each one allowed, and nobody left waiting
who could have had a free place.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from matching import store
from matching.app import DEFINITION
from matching.handlers import subscriptions
from matching.store import matches, mentors, requests
from peerlink import tables as messaging
from peerlink.contracts import REFERRAL_ACCEPTED
from peerlink.envelope import parse_envelope
from peerlink.outbox import Producer
from peerlink.tables import outbox
from peerlink.testing import make_envelope, sample_data
from peerlink.testing.stateful import FreshApps, OutboxWatch, deliver, machine_settings

TODAY = date.today()
LIVE = ("proposed", "confirmed")


def mentor_body(capacity: int) -> dict[str, Any]:
    return {
        "kind": "volunteer",
        "contact": {
            "given_name": "Gareth",
            "family_name": "Llewellyn",
            "email": "gareth@example.org",
            "preferred_language": "cy",
            "channels": ["email"],
        },
        "gender": "male",
        "languages": ["cy", "en"],
        "lived_experience": ["alcohol"],
        "interests": ["art"],
        "availability": ["tue-pm"],
        "capacity": capacity,
        "safeguarding": {
            "dbs_checked_on": (TODAY - timedelta(days=100)).isoformat(),
            "training_completed_on": (TODAY - timedelta(days=90)).isoformat(),
            "last_supervision_on": (TODAY - timedelta(days=10)).isoformat(),
            "stable_since": (TODAY - timedelta(days=1000)).isoformat(),
        },
    }


@dataclass
class MentorModel:
    capacity: int
    status: str = "active"


@dataclass
class RequestModel:
    status: str = "waiting"
    current: str | None = None
    requeued_from: str | None = None  # urgent: their mentor paused, until a new match is confirmed


@dataclass
class MatchModel:
    request: str
    mentor: str
    status: str


BAD_INPUT = [  # (method, path, body, status): input refused as invalid, or naming no one (404)
    ("PATCH", "/mentors/{mentor}", {"capacity": 0}, 422),
    ("POST", "/mentors/{mentor}/pause", {"reason": "bored"}, 422),
    ("POST", "/matches", {"request_id": "{request}", "mentor_id": "{mentor}", "confirm": "perhaps"}, 422),
    ("POST", "/matches", {"request_id": "{request}", "mentor_id": str(uuid.UUID(int=7))}, 404),
    ("POST", "/mentors", {"kind": "volunteer", "capacity": 1}, 422),
]


class MatchingInvariants(RuleBasedStateMachine):
    apps: FreshApps
    tokens: Any
    counts: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        self.app, self.path = self.apps.new()
        self.client = self.app.test_client()
        self.engine: sa.Engine = self.app.extensions["peerlink"].engine
        self.watch = OutboxWatch(self.engine)
        # The reference model, in the order things were made (so that a drawn index always
        # names the same one when hypothesis replays an example).
        self.mentors: dict[str, MentorModel] = {}
        self.requests: dict[str, RequestModel] = {}
        self.matches: dict[str, MatchModel] = {}
        self.not_again: set[tuple[str, str]] = set()  # (request, mentor): declined, or ended as not a fit
        self.counts["examples"] += 1

    def teardown(self) -> None:
        FreshApps.close(self.app, self.path)

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        self.counts["requests"] += 1
        response = self.client.open(path, method=method, headers=self.tokens.header(), **kwargs)
        return response.status_code, response.get_json()

    def emitted(self) -> list[str]:
        return [e.type.removeprefix("peerlink.").removesuffix(".v1") for e in self.watch.new()]

    def attempt(self, allowed: bool, method: str, path: str, ok: int, events: list[str], **kwargs: Any) -> Any:
        """A command the model allows succeeds and writes exactly ``events``; one it refuses is
        refused (409) and leaves every table as it was. Returns the body of a success, else None."""
        before = self.snapshot() if not allowed else None
        status, body = self.call(method, path, **kwargs)
        self.counts[f"{status}"] += 1
        if allowed:
            assert status == ok, (method, path, status, body)
            assert self.emitted() == events
            return body
        assert status == 409, (method, path, status, body)
        assert self.snapshot() == before, f"a refused {method} {path} changed the database"
        return None

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table of the service (its own, the outbox and inbox, the audit trail)."""
        with self.engine.connect() as conn:
            return {
                table.name: sorted(tuple(map(repr, row)) for row in conn.execute(sa.select(table)))
                for table in (*store.metadata.sorted_tables, *messaging.metadata.sorted_tables)
            }

    # The model's reading of the state ------------------------------------------------------

    def live(self, mentor: str) -> list[str]:
        return [k for k, m in self.matches.items() if m.mentor == mentor and m.status in LIVE]

    def has_room(self, mentor: str) -> bool:
        model = self.mentors[mentor]
        return model.status == "active" and len(self.live(mentor)) < model.capacity

    def may_pair(self, request: str, mentor: str) -> bool:
        return self.has_room(mentor) and (request, mentor) not in self.not_again

    def open_pairs(self) -> list[tuple[str, str]]:
        return [
            (request, mentor)
            for request, model in self.requests.items()
            if model.status == "waiting"
            for mentor in self.mentors
            if self.may_pair(request, mentor)
        ]

    def carrying_mentees_while_another_has_room(self) -> list[str]:
        return [
            mentor
            for mentor in self.mentors
            if self.live(mentor) and self.mentors[mentor].status == "active"
            if any(self.has_room(other) for other in self.mentors if other != mentor)
        ]

    @staticmethod
    def pick(data: st.DataObject, items: Any) -> Any:
        return data.draw(st.sampled_from(list(items)))

    # The site as a step begins with it -------------------------------------------------------

    @initialize(capacities=st.tuples(st.integers(1, 2), st.integers(1, 2)), confirm=st.booleans())
    def a_small_site(self, capacities: tuple[int, int], confirm: bool) -> None:
        """Two mentors and three people waiting (more people than places: capacity is contested);
        the first mentor already has a mentee, so that a pause has someone to re-match."""
        for capacity in capacities:
            self.register_mentor(capacity)
        for _ in range(3):
            self.referral_accepted()
        self.propose_pair(next(iter(self.requests)), next(iter(self.mentors)), confirm)

    # Mentors ---------------------------------------------------------------------------------

    @rule(capacity=st.integers(1, 3))
    def register_mentor(self, capacity: int) -> None:
        status, body = self.call("POST", "/mentors", json=mentor_body(capacity))
        assert status == 201, body
        assert self.emitted() == ["mentor.registered", "mentor-contact.recorded"]
        self.mentors[body["id"]] = MentorModel(capacity)

    @rule(data=st.data(), capacity=st.integers(1, 3))
    def change_capacity(self, data: st.DataObject, capacity: int) -> None:
        mentor = self.pick(data, self.mentors)
        model = self.mentors[mentor]
        allowed = capacity >= len(self.live(mentor))
        events = ["mentor.updated"] if capacity != model.capacity else []
        if self.attempt(allowed, "PATCH", f"/mentors/{mentor}", 200, events, json={"capacity": capacity}):
            model.capacity = capacity

    @rule(data=st.data())
    def pause(self, data: st.DataObject) -> None:
        self.pause_mentor(self.pick(data, self.mentors))

    @precondition(lambda self: self.carrying_mentees_while_another_has_room())
    @rule(data=st.data())
    def pause_where_someone_could_take_over(self, data: st.DataObject) -> None:
        """Where the worker has a re-match to propose: random pauses seldom find a free place."""
        self.pause_mentor(self.pick(data, self.carrying_mentees_while_another_has_room()))

    def pause_mentor(self, mentor: str) -> None:
        model = self.mentors[mentor]
        live = self.live(mentor)
        if model.status != "active":
            self.attempt(False, "POST", f"/mentors/{mentor}/pause", 200, [], json={"reason": "burnout"})
            return
        status, body = self.call("POST", f"/mentors/{mentor}/pause", json={"reason": "burnout"})
        assert status == 200, body
        found = self.emitted()
        assert found[-1] == "mentor.paused"
        settled = ["match.cancelled" if self.matches[k].status == "proposed" else "match.ended" for k in live]
        assert sorted(found[:-1]) == sorted(settled)
        model.status = "paused"
        for key in live:
            match = self.matches[key]
            match.status = "cancelled" if match.status == "proposed" else "ended"
            self.requests[match.request] = RequestModel(requeued_from=mentor)
        # Matching's own worker proposes re-matches from the event, through its handler.
        self.deliver_own_events()
        self.check_rematches(due=[self.matches[k].request for k in live], paused=mentor)

    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        mentor = self.pick(data, self.mentors)
        model = self.mentors[mentor]
        if self.attempt(
            model.status == "paused", "POST", f"/mentors/{mentor}/resume", 200, ["mentor.resumed"], json={}
        ):
            model.status = "active"

    # Requests and matches --------------------------------------------------------------------

    @rule()
    def referral_accepted(self) -> None:
        data = sample_data(
            REFERRAL_ACCEPTED,
            support_needs=["alcohol"],
            interests=["art"],
            availability=["tue-pm"],
            preferred_language="en",
            priority=False,
            preferences={"mentor_gender": "no-preference", "welsh_speaking_mentor": False},
            accepted_at=datetime.now(UTC),
        )
        envelope = make_envelope(REFERRAL_ACCEPTED, data, subject=str(data["referral_id"]))
        outcome = deliver(self.engine, subscriptions, Producer("ebbw-vale", "matching"), [envelope])
        assert outcome.failures == []
        assert self.emitted() == []
        self.requests[str(data["referral_id"])] = RequestModel()

    @rule(data=st.data(), confirm=st.booleans())
    def propose(self, data: st.DataObject, confirm: bool) -> None:
        """Any person with any mentor: the model says whether it is allowed."""
        self.propose_pair(self.pick(data, self.requests), self.pick(data, self.mentors), confirm)

    @precondition(lambda self: self.open_pairs())
    @rule(data=st.data(), confirm=st.booleans())
    def propose_where_there_is_room(self, data: st.DataObject, confirm: bool) -> None:
        """Two the model says may be paired: most random pairs are refused, and a site with
        mentors carrying mentees is where pauses, re-matches and capacity bite."""
        self.propose_pair(*self.pick(data, self.open_pairs()), confirm)

    @precondition(lambda self: self.not_again)
    @rule(data=st.data())
    def propose_a_pair_that_did_not_go_ahead(self, data: st.DataObject) -> None:
        """Declined, or ended as not a fit: never proposed again, whatever else is free."""
        self.propose_pair(*self.pick(data, sorted(self.not_again, key=self.made_order)), confirm=False)

    def made_order(self, pair: tuple[str, str]) -> tuple[int, int]:
        return list(self.requests).index(pair[0]), list(self.mentors).index(pair[1])

    def propose_pair(self, request: str, mentor: str, confirm: bool) -> None:
        allowed = self.requests[request].status == "waiting" and self.may_pair(request, mentor)
        events = ["match.proposed"] + (["match.confirmed"] if confirm else [])
        body = {"request_id": request, "mentor_id": mentor, "confirm": confirm}
        made = self.attempt(allowed, "POST", "/matches", 201, events, json=body)
        if made is None:
            return
        self.matches[made["id"]] = MatchModel(request, mentor, "proposed")
        self.requests[request].status, self.requests[request].current = "proposed", made["id"]
        if confirm:
            self.confirmed(made["id"])

    @precondition(lambda self: self.matches)
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        match = self.pick(data, self.matches)
        allowed = self.matches[match].status == "proposed"
        if self.attempt(allowed, "POST", f"/matches/{match}/confirm", 200, ["match.confirmed"], json={}):
            self.confirmed(match)

    def confirmed(self, match: str) -> None:
        self.matches[match].status = "confirmed"
        request = self.requests[self.matches[match].request]
        request.status, request.requeued_from = "matched", None

    @precondition(lambda self: self.matches)
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        match = self.pick(data, self.matches)
        model = self.matches[match]
        body = {"declined_by": "coordinator", "reason": "not-a-fit"}
        if self.attempt(
            model.status == "proposed", "POST", f"/matches/{match}/decline", 200, ["match.declined"], json=body
        ):
            model.status = "declined"
            self.not_again.add((model.request, model.mentor))
            self.back_to_waiting(model.request)

    @precondition(lambda self: self.matches)
    @rule(data=st.data(), reason=st.sampled_from(["not-a-fit", "completed"]))
    def end(self, data: st.DataObject, reason: str) -> None:
        match = self.pick(data, self.matches)
        model = self.matches[match]
        body = {"reason": reason, "never_pair_again": False}
        if self.attempt(model.status == "confirmed", "POST", f"/matches/{match}/end", 200, ["match.ended"], json=body):
            model.status = "ended"
            if reason == "not-a-fit":
                self.not_again.add((model.request, model.mentor))
            if reason == "completed":  # done: nobody new proposed, the match kept as the request's last
                self.requests[model.request].status = "completed"
            else:
                self.back_to_waiting(model.request)

    def back_to_waiting(self, request: str) -> None:
        self.requests[request].status, self.requests[request].current = "waiting", None

    @rule(data=st.data(), bad=st.sampled_from(BAD_INPUT))
    def bad_input(self, data: st.DataObject, bad: tuple[str, str, dict[str, Any], int]) -> None:
        """Input the API refuses before acting on it: nothing written, nothing emitted."""
        method, path, body, expected = bad
        fill = {"mentor": self.pick(data, self.mentors), "request": self.pick(data, self.requests)}
        body = {k: v.format(**fill) if isinstance(v, str) else v for k, v in body.items()}
        before = self.snapshot()
        status, answer = self.call(method, path.format(**fill), json=body)
        assert status == expected, (method, path, status, answer)
        self.counts[f"{status}"] += 1
        assert self.emitted() == []
        assert self.snapshot() == before, f"a refused {method} {path} changed the database"

    def deliver_own_events(self) -> None:
        with self.engine.connect() as conn:
            bodies = conn.execute(
                sa.select(outbox.c.body).where(outbox.c.event_type == "peerlink.mentor.paused.v1")
            ).scalars()
            envelopes = [parse_envelope(b) for b in bodies]
        deliver(self.engine, subscriptions, Producer("ebbw-vale", "matching"), envelopes[-1:])

    def check_rematches(self, due: list[str], paused: str) -> None:
        """The worker's proposals are allowed, one per person at most; nobody it left waiting
        could have had a place still free (an optimal run fills every place it can)."""
        proposed = self.emitted()
        assert set(proposed) <= {"match.proposed"}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(matches.c.id, matches.c.request_id, matches.c.mentor_id).where(matches.c.method == "rematch")
            ).all()
        made = [(str(r.id), str(r.request_id), str(r.mentor_id)) for r in rows if str(r.id) not in self.matches]
        assert len(made) == len(proposed)
        assert len({request for _, request, _ in made}) == len(made)
        for match, request, mentor in made:
            assert request in due and mentor != paused
            assert self.requests[request].status == "waiting" and self.may_pair(request, mentor), (request, mentor)
            self.matches[match] = MatchModel(request, mentor, "proposed")
            self.requests[request].status, self.requests[request].current = "proposed", match
        for request in due:
            if self.requests[request].status == "waiting":
                assert not any(self.may_pair(request, m) for m in self.mentors), "left waiting with a place free"
        self.counts["rematches"] += len(made)

    # What must hold after every step ---------------------------------------------------------

    @invariant()
    def the_database_holds_what_the_model_holds(self) -> None:
        with self.engine.connect() as conn:
            held_mentors = {
                str(r.id): MentorModel(r.capacity, r.status)
                for r in conn.execute(sa.select(mentors.c.id, mentors.c.capacity, mentors.c.status))
            }
            held_requests = {
                str(r.id): (
                    RequestModel(r.status, _text(r.current_match_id), _text(r.requeued_from_mentor)),
                    r.rematch_due,
                )
                for r in conn.execute(
                    sa.select(
                        requests.c.id,
                        requests.c.status,
                        requests.c.current_match_id,
                        requests.c.requeued_from_mentor,
                        requests.c.rematch_due,
                    )
                )
            }
            held_matches = {
                str(r.id): MatchModel(str(r.request_id), str(r.mentor_id), r.status)
                for r in conn.execute(
                    sa.select(matches.c.id, matches.c.request_id, matches.c.mentor_id, matches.c.status)
                )
            }
        assert held_mentors == self.mentors
        assert held_matches == self.matches
        # A re-match is due only until the worker has tried it, within the step that paused the mentor.
        assert held_requests == {k: (v, False) for k, v in self.requests.items()}

    @invariant()
    def no_mentor_over_capacity_and_one_live_match_a_request(self) -> None:
        with self.engine.connect() as conn:
            capacity = dict(conn.execute(sa.select(mentors.c.id, mentors.c.capacity)).all())
            live = conn.execute(
                sa.select(matches.c.id, matches.c.mentor_id, matches.c.request_id).where(matches.c.status.in_(LIVE))
            ).all()
            current = dict(conn.execute(sa.select(requests.c.id, requests.c.current_match_id)).all())
        per_mentor = Counter(m.mentor_id for m in live)
        for mentor_id, taken in per_mentor.items():
            assert taken <= capacity[mentor_id], f"mentor over capacity: {taken} of {capacity[mentor_id]}"
        per_request = Counter(m.request_id for m in live)
        assert all(n == 1 for n in per_request.values()), per_request
        for m in live:
            assert current[m.request_id] == m.id, "a live match that is not its request's current match"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def test_any_sequence_of_matching_commands_keeps_the_invariants(tmp_path: Path, tokens) -> None:
    machine = type("Bound", (MatchingInvariants,), {"tokens": tokens, "counts": Counter()})
    started = time.perf_counter()
    with FreshApps(DEFINITION, tmp_path, tokens=tokens.config()) as machine.apps:
        run_state_machine_as_test(machine, settings=machine_settings(max_examples=30, steps=25))
    print(
        f"matching invariants: {machine.counts.pop('examples')} examples, {machine.counts.pop('requests')} requests "
        f"in {time.perf_counter() - started:.1f} s; {dict(machine.counts)}"
    )
