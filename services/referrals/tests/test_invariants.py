"""Any sequence of intakes, triage decisions, matches confirmed and ended (arriving as matching's
events, through the service's own handlers and inbox) and advocacy issues keeps the promises of
referrals (hypothesis drives the real API on a real migrated database):

- every transition is one the state machine allows; an illegal one is a 409 naming the actions
  allowed, and changes nothing;
- at most three advocacy issues open a person;
- each change writes exactly its one event to the outbox (and its transition record); no event
  without a change, a redelivered event no second change;
- the waiting list is exactly the accepted referrals (accepted and not matched);
- a person referred again is linked to, never changed: no contact details are written until a
  coordinator says whether it is the same person, and until then the referral is neither
  accepted nor declined; the answer is announced (``referral.person-resolved``) after any
  contact details it writes.

The expected transitions below are written out from the README's state diagram, not imported
from the code under test.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
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

from peerlink.contracts import MATCH_CONFIRMED, MATCH_ENDED
from peerlink.outbox import Producer
from peerlink.testing import make_envelope
from peerlink.testing.stateful import FreshApps, OutboxWatch, deliver, machine_settings
from referrals.app import DEFINITION
from referrals.handlers import subscriptions
from referrals.store import advocacy_issues, referrals, transitions

# (status, action) -> new status, as the README draws it; the rest is refused.
LEGAL = {
    ("received", "accept"): "accepted",
    ("received", "decline"): "declined",
    ("accepted", "match"): "matched",
    ("matched", "start"): "active",
    ("matched", "requeue"): "accepted",
    ("active", "requeue"): "accepted",
    ("active", "close"): "closed",
    ("closed", "reopen"): "accepted",
    **{(status, "withdraw"): "withdrawn" for status in ("received", "accepted", "matched", "active")},
}
BY_PEOPLE = ("accept", "decline", "withdraw", "start", "close", "reopen")
HELD_FOR_DUPLICATE_CHECK = ("accept", "decline")
BODIES = {"decline": {"reason": "other"}, "withdraw": {"reason": "by-person"}, "close": {"outcome": "completed"}}
EVENT_OF = {
    "accept": "accepted",
    "reopen": "accepted",
    "decline": "declined",
    "withdraw": "withdrawn",
    "start": "activated",
    "close": "closed",
    "match": "matched",
    "requeue": "requeued",
}
MENTOR = uuid.UUID(int=7)


@dataclass
class Ref:
    id: str
    person_id: str
    status: str = "received"
    match_id: uuid.UUID | None = None
    flagged: bool = False  # linked to someone known at intake
    counted: bool = True  # its consent lets the central office count the person
    pending: bool = False  # ... and nobody has said yet whether it is the same person

    def allowed(self) -> list[str]:
        return [
            a
            for (s, a) in LEGAL
            if s == self.status and a in BY_PEOPLE and not (self.pending and a in HELD_FOR_DUPLICATE_CHECK)
        ]


def referral_body(n: int) -> dict[str, Any]:
    return {
        "site": "ebbw-vale",
        "person": {
            "given_name": f"Person{chr(65 + n)}",
            "family_name": f"Family{chr(65 + n)}",
            "date_of_birth": f"{1970 + n}-01-15",
            "preferred_language": "cy",
            "contact": {"email": f"person{n}@example.org", "channels": ["email"]},
        },
        "source": "gp",
        "support_needs": ["alcohol"],
        "consent": {"share_with_mentor": True, "counted_in_figures": n != 1, "wording_version": "2026-01"},
    }


referral_ids = Bundle("referrals")
issue_ids = Bundle("issues")


class ReferralsInvariants(RuleBasedStateMachine):
    apps: FreshApps
    tokens: Any
    counts: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        self.app, self.path = self.apps.new()
        self.client = self.app.test_client()
        self.engine: sa.Engine = self.app.extensions["peerlink"].engine
        self.watch = OutboxWatch(self.engine)
        self.refs: dict[str, Ref] = {}
        self.person_of_body: dict[int, str] = {}  # who intake made for referral_body(n) first
        self.open_issues: dict[str, set[str]] = {}
        self.resolved: set[str] = set()
        self.changes = 0
        self.delivered: list[Any] = []
        self.counts["examples"] += 1

    def teardown(self) -> None:
        FreshApps.close(self.app, self.path)

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        self.counts["requests"] += 1
        response = self.client.open(path, method=method, headers=self.tokens.header(), **kwargs)
        return response.status_code, response.get_json()

    def emitted(self) -> list[tuple[str, str]]:
        return [(e.type, e.subject) for e in self.watch.new()]

    def deliver(self, envelope: Any) -> None:
        self.counts["events delivered"] += 1
        outcome = deliver(self.engine, subscriptions, Producer("ebbw-vale", "referrals"), [envelope])
        assert outcome.failures == [], outcome.failures
        self.delivered.append(envelope)

    @initialize(target=referral_ids, depth=st.integers(0, 4))
    def one_referral_some_way_along(self, depth: int) -> str:
        """Start from a referral taken along the usual road (random rules rarely get that far)."""
        referral = self.intake(0)
        steps = [self.accept, self.match_confirmed, self.start, self.close]
        for step in steps[:depth]:
            step(referral)
        return referral

    # Intake and triage -----------------------------------------------------------------------

    @precondition(lambda self: len(self.refs) < 3)  # a few referrals, each taken a long way
    # Half the time the first person again (the initial referral is hers): a possible duplicate.
    @rule(target=referral_ids, n=st.sampled_from([0, 0, 1, 2]))
    def intake(self, n: int) -> str:
        status, body = self.call("POST", "/referrals", json=referral_body(n))
        assert status == 201, body
        known = self.person_of_body.get(n)
        self.refs[body["id"]] = Ref(
            body["id"],
            body["person_id"],
            flagged=bool(known),
            pending=bool(known),
            counted=referral_body(n)["consent"]["counted_in_figures"],
        )
        self.open_issues.setdefault(body["person_id"], set())
        if known:
            # The same person again: linked to her, and nothing about her written.
            assert body["person_id"] == known and body["duplicate_pending"] is True
            assert self.emitted() == [("peerlink.referral.received.v1", body["id"])]
        else:
            self.person_of_body[n] = body["person_id"]
            assert self.emitted() == [
                ("peerlink.referral.received.v1", body["id"]),
                ("peerlink.contact.recorded.v1", body["person_id"]),
            ]
        self.changes += 1
        return body["id"]

    @precondition(lambda self: any(r.flagged for r in self.refs.values()))
    @rule(
        data=st.data(),
        decision=st.sampled_from(["same-person", "different-person"]),
        apply_contact_details=st.booleans(),
    )
    def resolve_duplicate(self, data: st.DataObject, decision: str, apply_contact_details: bool) -> None:
        referral = data.draw(st.sampled_from(sorted(r.id for r in self.refs.values() if r.flagged)))
        ref = self.refs[referral]
        apply_contact_details = apply_contact_details and decision == "same-person"
        status, body = self.call(
            "POST",
            f"/referrals/{referral}/duplicate-check/resolve",
            json={"decision": decision, "apply_contact_details": apply_contact_details},
        )
        if not ref.pending:
            assert status == 409, body
            assert self.emitted() == []
            self.counts["resolved again, refused"] += 1
            return
        assert status == 200, body
        ref.pending = False
        self.counts[decision] += 1
        # The answer, after the details of whoever it is now about (the new person's, or hers
        # when the coordinator applied them): other services know whose referral it is.
        resolved = ("peerlink.referral.person-resolved.v1", referral)
        if decision == "different-person":
            assert body["new_person_id"] != ref.person_id
            ref.person_id = body["new_person_id"]
            self.open_issues.setdefault(ref.person_id, set())
            assert self.emitted() == [("peerlink.contact.recorded.v1", ref.person_id), resolved]
        elif apply_contact_details:
            assert self.emitted() == [("peerlink.contact.recorded.v1", ref.person_id), resolved]
        else:
            assert self.emitted() == [resolved]
        assert body["referral"]["person_id"] == ref.person_id and body["referral"]["duplicate_pending"] is False

    # One rule an action, so that each is a fair share of the steps (hypothesis picks rules).
    @rule(referral=referral_ids)
    def accept(self, referral: str) -> None:
        self.act(referral, "accept")

    @rule(referral=referral_ids, action=st.sampled_from(["decline", "withdraw"]))
    def decline_or_withdraw(self, referral: str, action: str) -> None:
        self.act(referral, action)

    @rule(referral=referral_ids)
    def start(self, referral: str) -> None:
        self.act(referral, "start")

    @rule(referral=referral_ids)
    def close(self, referral: str) -> None:
        self.act(referral, "close")

    @rule(referral=referral_ids)
    def reopen(self, referral: str) -> None:
        self.act(referral, "reopen")

    def act(self, referral: str, action: str) -> None:
        ref = self.refs[referral]
        status, body = self.call("POST", f"/referrals/{referral}/{action}", json=BODIES.get(action, {}))
        target = LEGAL.get((ref.status, action))
        if ref.pending and action in HELD_FOR_DUPLICATE_CHECK:
            target = None
        if target is None:
            assert status == 409, body
            assert body["status_now"] == ref.status
            assert body["allowed_actions"] == ref.allowed()
            assert self.emitted() == []
            self.counts["refused"] += 1
            return
        assert status == 200, body
        assert body["status"] == target
        ref.status = target
        if action in ("accept", "reopen"):
            ref.match_id = None
        self.changes += 1
        self.counts[action] += 1
        (event,) = self.watch.new()
        assert (event.type, event.subject) == (f"peerlink.referral.{EVENT_OF[action]}.v1", referral)
        if action in ("accept", "reopen"):
            # Its own consent, for matching to keep the person's matches where this event goes.
            assert event.data["counted_in_figures"] is ref.counted

    # Matching's events -----------------------------------------------------------------------

    @rule(referral=referral_ids)
    def match_confirmed(self, referral: str) -> None:
        ref = self.refs[referral]
        match_id = uuid.uuid4()
        data = {
            "match_id": match_id,
            "referral_id": uuid.UUID(referral),
            "person_id": uuid.UUID(ref.person_id),
            "mentor_id": MENTOR,
            "confirmed_at": datetime.now(UTC),
        }
        self.deliver(make_envelope(MATCH_CONFIRMED, data, service="matching", subject=str(match_id)))
        if ref.status != "accepted":  # closed or withdrawn meanwhile: matching ends it on its own
            assert self.emitted() == []
            return
        ref.status, ref.match_id = "matched", match_id
        self.changes += 1
        self.counts["matched"] += 1
        assert self.emitted() == [("peerlink.referral.matched.v1", referral)]

    @rule(
        referral=referral_ids, reason=st.sampled_from(["mentor-paused", "completed", "not-a-fit"]), stale=st.booleans()
    )
    def match_ended(self, referral: str, reason: str, stale: bool) -> None:
        ref = self.refs[referral]
        match_id = uuid.uuid4() if stale or ref.match_id is None else ref.match_id
        data = {
            "match_id": match_id,
            "referral_id": uuid.UUID(referral),
            "person_id": uuid.UUID(ref.person_id),
            "mentor_id": MENTOR,
            "reason": reason,
            "ended_at": datetime.now(UTC),
        }
        self.deliver(make_envelope(MATCH_ENDED, data, service="matching", subject=str(match_id)))
        ends = match_id == ref.match_id and ref.status in ("matched", "active")
        if not ends or (reason == "completed" and ref.status == "active"):
            assert self.emitted() == []
            return
        ref.status, ref.match_id = "accepted", None
        self.changes += 1
        self.counts["requeued"] += 1
        assert self.emitted() == [("peerlink.referral.requeued.v1", referral)]

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redelivered(self, data: st.DataObject) -> None:
        """The broker delivers an event again: the inbox knows it, nothing changes."""
        envelope = data.draw(st.sampled_from(self.delivered))
        outcome = deliver(self.engine, subscriptions, Producer("ebbw-vale", "referrals"), [envelope])
        assert outcome.handled == [] and outcome.duplicates == 1
        assert self.emitted() == []

    # Advocacy --------------------------------------------------------------------------------

    @rule(target=issue_ids, referral=referral_ids, category=st.sampled_from(["housing", "benefits"]))
    def open_issue(self, referral: str, category: str) -> str:
        person = self.refs[referral].person_id
        status, body = self.call(
            "POST", f"/people/{person}/advocacy-issues", json={"category": category, "summary": "A letter."}
        )
        if len(self.open_issues[person]) >= 3:
            assert status == 409, body
            assert {i["id"] for i in body["open_issues"]} == self.open_issues[person]
            assert self.emitted() == []
            self.counts["fourth issue refused"] += 1
            return f"refused-{uuid.uuid4()}"
        assert status == 201, body
        self.open_issues[person].add(body["id"])
        assert self.emitted() == [("peerlink.advocacy.opened.v1", body["id"])]
        return f"{person}/{body['id']}"

    @rule(issue=issue_ids)
    def resolve_issue(self, issue: str) -> None:
        if issue.startswith("refused-"):
            return
        person, issue_id = issue.split("/")
        status, body = self.call(
            "POST", f"/people/{person}/advocacy-issues/{issue_id}/resolve", json={"resolution": "resolved"}
        )
        if issue_id in self.resolved:
            assert status == 409, body
            assert self.emitted() == []
            return
        assert status == 200, body
        self.open_issues[person].discard(issue_id)
        self.resolved.add(issue_id)
        assert self.emitted() == [("peerlink.advocacy.resolved.v1", issue_id)]

    # What must hold after every step ---------------------------------------------------------

    @invariant()
    def the_database_holds_what_happened(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(referrals.c.id, referrals.c.status, referrals.c.person_id, referrals.c.duplicate_pending)
            ).all()
            statuses = {str(row.id): row.status for row in rows}
            owners = {str(row.id): (str(row.person_id), row.duplicate_pending) for row in rows}
            recorded = conn.execute(sa.select(sa.func.count()).select_from(transitions)).scalar_one()
            open_now = Counter(
                str(p)
                for (p,) in conn.execute(
                    sa.select(advocacy_issues.c.person_id).where(advocacy_issues.c.resolved_at.is_(None))
                )
            )
        assert statuses == {r.id: r.status for r in self.refs.values()}
        assert owners == {r.id: (r.person_id, r.pending) for r in self.refs.values()}
        assert recorded == self.changes - len(self.refs)  # one record a transition (intake is none)
        assert all(count <= 3 for count in open_now.values()), open_now
        assert dict(open_now) == {p: len(ids) for p, ids in self.open_issues.items() if ids}

    @invariant()
    def the_waiting_list_is_the_accepted_referrals(self) -> None:
        status, body = self.call("GET", "/waiting-list")
        assert status == 200, body
        assert {w["referral_id"] for w in body["items"]} == {r.id for r in self.refs.values() if r.status == "accepted"}
        assert body["waiting"] == len(body["items"])


def test_any_sequence_of_referral_commands_keeps_the_invariants(tmp_path: Path, tokens) -> None:
    machine = type("Bound", (ReferralsInvariants,), {"tokens": tokens, "counts": Counter()})
    started = time.perf_counter()
    with FreshApps(DEFINITION, tmp_path, tokens=tokens.config()) as machine.apps:
        run_state_machine_as_test(machine, settings=machine_settings(max_examples=30, steps=30))
    print(
        f"referrals invariants: {machine.counts.pop('examples')} examples, {machine.counts.pop('requests')} requests "
        f"in {time.perf_counter() - started:.1f} s; {dict(machine.counts)}"
    )
