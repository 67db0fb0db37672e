"""Any sequence of referrals arriving (referrals' events, through matching's own handlers and
inbox), proposals, confirmations, declines, endings, capacity changes and mentors paused and
resumed keeps the promises of matching (hypothesis drives the real API on a real database):

- no mentor ever has more mentees (confirmed and proposed) than their capacity;
- each request has at most one live match, and it is the request's current match;
- each change writes its events to the outbox; a refusal writes none.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from matching.app import DEFINITION
from matching.handlers import subscriptions
from matching.store import matches, mentors, requests
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


mentor_ids = Bundle("mentors")
request_ids = Bundle("requests")
match_ids = Bundle("matches")


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
        self.counts["examples"] += 1

    def teardown(self) -> None:
        FreshApps.close(self.app, self.path)

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        self.counts["requests"] += 1
        response = self.client.open(path, method=method, headers=self.tokens.header(), **kwargs)
        return response.status_code, response.get_json()

    def emitted(self) -> list[str]:
        return [e.type.removeprefix("peerlink.").removesuffix(".v1") for e in self.watch.new()]

    def expect(self, status: int, body: Any, ok: int, events: list[str]) -> bool:
        """A success writes exactly ``events``; a refusal (409) nothing."""
        assert status in (ok, 409), (status, body)
        self.counts[f"{status}"] += 1
        assert self.emitted() == (events if status == ok else [])
        return status == ok

    # Mentors ---------------------------------------------------------------------------------

    @initialize(target=mentor_ids, capacity=st.integers(1, 2))
    def first_mentor(self, capacity: int) -> str:
        return self.register_mentor(capacity)

    @rule(target=mentor_ids, capacity=st.integers(1, 3))
    def register_mentor(self, capacity: int) -> str:
        status, body = self.call("POST", "/mentors", json=mentor_body(capacity))
        assert status == 201, body
        assert self.emitted() == ["mentor.registered", "mentor-contact.recorded"]
        return body["id"]

    @rule(mentor=mentor_ids, capacity=st.integers(1, 3))
    def change_capacity(self, mentor: str, capacity: int) -> None:
        before = self.capacity_of(mentor)
        status, body = self.call("PATCH", f"/mentors/{mentor}", json={"capacity": capacity})
        self.expect(status, body, 200, ["mentor.updated"] if capacity != before else [])

    @rule(mentor=mentor_ids)
    def pause(self, mentor: str) -> None:
        live = self.live_of(mentor)
        status, body = self.call("POST", f"/mentors/{mentor}/pause", json={"reason": "burnout"})
        assert status in (200, 409), body
        found = self.emitted()
        if status == 409:
            assert found == []
            return
        assert found[-1] == "mentor.paused"
        assert sorted(found[:-1]) == sorted("match.cancelled" if s == "proposed" else "match.ended" for s in live)
        # Matching's own worker proposes re-matches from the event, through its handler.
        self.deliver_own_events()

    @rule(mentor=mentor_ids)
    def resume(self, mentor: str) -> None:
        status, body = self.call("POST", f"/mentors/{mentor}/resume", json={})
        self.expect(status, body, 200, ["mentor.resumed"])

    # Requests and matches --------------------------------------------------------------------

    @initialize(target=request_ids)
    def first_request(self) -> str:
        return self.referral_accepted()

    @rule(target=request_ids)
    def referral_accepted(self) -> str:
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
        return str(data["referral_id"])

    @initialize(target=request_ids)
    def second_request(self) -> str:
        return self.referral_accepted()

    @initialize(target=request_ids)
    def third_request(self) -> str:  # more requests than places from the start: capacity is contested
        return self.referral_accepted()

    @rule(target=match_ids, request=request_ids, mentor=mentor_ids, confirm=st.booleans())
    def propose(self, request: str, mentor: str, confirm: bool) -> Any:
        body = {"request_id": request, "mentor_id": mentor, "confirm": confirm}
        status, answer = self.call("POST", "/matches", json=body)
        made = self.expect(status, answer, 201, ["match.proposed"] + (["match.confirmed"] if confirm else []))
        return answer["id"] if made else multiple()  # a refused proposal leaves no match to act on

    @rule(target=match_ids, request=request_ids, mentor=mentor_ids)
    def propose_again(self, request: str, mentor: str) -> Any:
        """Proposals are the contested step: a second rule makes hypothesis try them twice as often."""
        return self.propose(request, mentor, confirm=False)

    @rule(match=match_ids)
    def confirm(self, match: str) -> None:
        self.expect(*self.call("POST", f"/matches/{match}/confirm", json={}), 200, ["match.confirmed"])

    @rule(match=match_ids)
    def decline(self, match: str) -> None:
        body = {"declined_by": "coordinator", "reason": "not-a-fit"}
        self.expect(*self.call("POST", f"/matches/{match}/decline", json=body), 200, ["match.declined"])

    @rule(match=match_ids)
    def end(self, match: str) -> None:
        body = {"reason": "not-a-fit", "never_pair_again": False}
        self.expect(*self.call("POST", f"/matches/{match}/end", json=body), 200, ["match.ended"])

    def deliver_own_events(self) -> None:
        with self.engine.connect() as conn:
            bodies = conn.execute(
                sa.select(outbox.c.body).where(outbox.c.event_type == "peerlink.mentor.paused.v1")
            ).scalars()
            envelopes = [parse_envelope(b) for b in bodies]
        deliver(self.engine, subscriptions, Producer("ebbw-vale", "matching"), envelopes[-1:])
        assert set(self.emitted()) <= {"match.proposed"}

    # Reads -----------------------------------------------------------------------------------

    def capacity_of(self, mentor: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(mentors.c.capacity).where(mentors.c.id == uuid.UUID(mentor))).scalar_one()
            )

    def live_of(self, mentor: str) -> list[str]:
        with self.engine.connect() as conn:
            query = sa.select(matches.c.status).where(
                matches.c.mentor_id == uuid.UUID(mentor), matches.c.status.in_(LIVE)
            )
            return list(conn.execute(query).scalars())

    # What must hold after every step ---------------------------------------------------------

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


def test_any_sequence_of_matching_commands_keeps_the_invariants(tmp_path: Path, tokens) -> None:
    machine = type("Bound", (MatchingInvariants,), {"tokens": tokens, "counts": Counter()})
    started = time.perf_counter()
    with FreshApps(DEFINITION, tmp_path, tokens=tokens.config()) as machine.apps:
        run_state_machine_as_test(machine, settings=machine_settings(max_examples=40, steps=25))
    print(
        f"matching invariants: {machine.counts.pop('examples')} examples, {machine.counts.pop('requests')} requests "
        f"in {time.perf_counter() - started:.1f} s; {dict(machine.counts)}"
    )
