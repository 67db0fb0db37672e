"""The use cases of matching, each one transaction: domain rules, then the store and the
outbox through the same connection. The API and the message handlers only translate to and
from these; they never touch the store themselves for a change."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from matching import store
from matching.domain import events, mentors, runs
from matching.domain import matches as lifecycle
from matching.domain.feedback import Feedback, InvalidFeedback
from matching.domain.matches import Match, MatchStatus
from matching.domain.mentors import Mentor, MentorStatus
from matching.domain.policy import Policy
from matching.domain.requests import LIVE, MatchRequest, RequestStatus, accepted, completed, waiting_again
from matching.domain.scoring import MENTOR_LEVEL, Exclusion, Load, Situation, explain, mentor_exclusions
from peerlink.contracts import (
    MATCH_CONFIRMED,
    MATCH_DECLINED,
    MATCH_ENDED,
    MATCH_PROPOSED,
    MENTOR_CONTACT_RECORDED,
    MENTOR_LEFT,
    MENTOR_PAUSED,
    MENTOR_REGISTERED,
    MENTOR_RESUMED,
    MENTOR_UPDATED,
    EventType,
)
from peerlink.contracts.match import MATCH_CANCELLED
from peerlink.contracts.vocabulary import MATCH_CANCEL_REASONS, MATCH_END_REASONS

log = logging.getLogger(__name__)

# Endings that come with their own action (pausing a mentor, the referral's end), not by hand.
ENDED_BY_EVENTS = frozenset({"mentor-paused", "mentor-left", "referral-withdrawn", "referral-closed"})


class Transaction(Protocol):
    """A unit of work (HTTP) or a handler context (messages): one connection, one outbox."""

    connection: Connection

    def emit(self, event_type: EventType, *, subject: str, data: dict[str, Any], site_only: bool = False) -> Any: ...


class NotFound(LookupError):
    pass


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came with a different request."""


class NotEligible(Exception):
    """A pair a hard constraint forbids; the exclusions say which, in plain words."""

    def __init__(self, exclusions: list[Exclusion]):
        self.exclusions = exclusions
        super().__init__("This mentor cannot be matched with this person: " + " ".join(e.reason for e in exclusions))


class NotWaiting(Exception):
    def __init__(self, request: MatchRequest):
        self.request = request
        super().__init__(f"This request is {request.status}, not waiting for a mentor.")


class CapacityBelowLoad(Exception):
    def __init__(self, taken: int):
        self.taken = taken
        super().__init__(
            f"The mentor has {taken} mentees matched or proposed: end or move a match before lowering their capacity."
        )


@dataclass(frozen=True)
class Created:
    """What a creating request made, and whether an earlier request with the same key made it."""

    item: Any
    replayed: bool = False


def _replay(earlier: tuple[Any, str] | None, idempotency: tuple[str, str] | None, what: str) -> Created | None:
    if earlier is None or idempotency is None:
        return None
    item, fingerprint = earlier
    if fingerprint != idempotency[1]:
        raise IdempotencyConflict(f"This Idempotency-Key was used for a different {what}.")
    return Created(item, replayed=True)


def situation(conn: Connection, site: str, today: date, *, request_ids: list[uuid.UUID] | None = None) -> Situation:
    """What scores depend on, as it stands in this transaction."""
    policy, _ = store.current_policy(conn)
    return Situation(
        site=site,
        today=today,
        policy=policy,
        loads=store.loads(conn),
        do_not_match=store.conflicts(conn),
        declined=store.declined_pairs(conn, request_ids),
    )


# Mentors ---------------------------------------------------------------------------------------


def register_mentor(tx: Transaction, mentor: Mentor, *, idempotency: tuple[str, str] | None = None) -> Created:
    conn = tx.connection
    if idempotency:
        replayed = _replay(store.mentor_for_key(conn, idempotency[0]), idempotency, "mentor")
        if replayed:
            return replayed
    mentor = replace(
        mentor,
        safeguarding=mentors.checked_safeguarding(mentor.safeguarding, mentor.registered_at.date()),
        former_participant=mentor.person_id is not None,
    )
    store.add_mentor(conn, mentor, idempotency=idempotency)
    tx.emit(MENTOR_REGISTERED, subject=str(mentor.id), data=events.mentor_registered(mentor))
    tx.emit(MENTOR_CONTACT_RECORDED, subject=str(mentor.id), data=events.mentor_contact(mentor))
    log.info("mentor registered", extra={"mentor_id": str(mentor.id)})
    return Created(mentor)


def update_mentor(tx: Transaction, mentor_id: uuid.UUID, changes: dict[str, Any], *, at: datetime) -> Mentor:
    """Profile, contact and safeguarding changes; each kind of change says so on its own channel."""
    before = _mentor(tx, mentor_id)
    if before.status is MentorStatus.LEFT:
        raise mentors.IllegalMentorChange(before.status, "change their profile")
    contact = replace(before.contact, **changes.pop("contact", {}))
    given = changes.pop("safeguarding", {})
    if given.get("dbs_checked_on", before.safeguarding.dbs_checked_on) != before.safeguarding.dbs_checked_on:
        # A new check renews: without a renewal date of its own, the old one must not stay behind.
        given = {"dbs_expires_on": None, **given}
    safeguarding = mentors.checked_safeguarding(replace(before.safeguarding, **given), at.date())
    after = replace(before, **changes, contact=contact, safeguarding=safeguarding, updated_at=at)
    if after.person_id is not None:
        after = replace(after, former_participant=True)
    if after.capacity < before.capacity:
        taken = store.loads(tx.connection, [mentor_id]).get(mentor_id, Load()).taken
        if after.capacity < taken:
            raise CapacityBelowLoad(taken)
    store.save_mentor(tx.connection, after)
    if events.mentor_profile(after) != events.mentor_profile(before):
        tx.emit(MENTOR_UPDATED, subject=str(after.id), data=events.mentor_updated(after, at))
    if after.contact != before.contact:
        tx.emit(MENTOR_CONTACT_RECORDED, subject=str(after.id), data=events.mentor_contact(after))
    return after


def pause_mentor(tx: Transaction, mentor_id: uuid.UUID, *, reason: str, at: datetime, actor: str) -> Mentor:
    """Their mentees go back to the queue with priority; the worker proposes re-matches."""
    mentor = mentors.pause(_mentor(tx, mentor_id), reason, at)
    requeued = _release_mentees(tx, mentor, "mentor-paused", at=at, actor=actor)
    store.save_mentor(tx.connection, mentor)
    tx.emit(MENTOR_PAUSED, subject=str(mentor.id), data=events.mentor_paused(mentor, requeued))
    return mentor


def resume_mentor(tx: Transaction, mentor_id: uuid.UUID, *, at: datetime) -> Mentor:
    mentor = mentors.resume(_mentor(tx, mentor_id), at)
    store.save_mentor(tx.connection, mentor)
    tx.emit(MENTOR_RESUMED, subject=str(mentor.id), data=events.mentor_resumed(mentor))
    return mentor


def mentor_leaves(tx: Transaction, mentor_id: uuid.UUID, *, reason: str, at: datetime, actor: str) -> Mentor:
    mentor = mentors.leave(_mentor(tx, mentor_id), reason, at)
    requeued = _release_mentees(tx, mentor, "mentor-left", at=at, actor=actor)
    store.save_mentor(tx.connection, mentor)
    tx.emit(MENTOR_LEFT, subject=str(mentor.id), data=events.mentor_left(mentor, requeued))
    return mentor


def _release_mentees(tx: Transaction, mentor: Mentor, reason: str, *, at: datetime, actor: str) -> int:
    released = 0
    for seen in store.live_matches_of_mentor(tx.connection, mentor.id):
        match = _match(tx, seen.id)
        if not match.is_live:
            continue  # settled meanwhile (the referral withdrawn)
        request = store.get_request(tx.connection, match.request_id)
        _settle(tx, match, reason, at=at, actor=actor, request=request)
        if request is not None and request.current_match_id == match.id:
            store.save_request(tx.connection, waiting_again(request, at, from_mentor=mentor.id, rematch=True))
            released += 1
    return released


def _mentor(tx: Transaction, mentor_id: uuid.UUID) -> Mentor:
    mentor = store.get_mentor(tx.connection, mentor_id, for_update=True)
    if mentor is None:
        raise NotFound(f"No mentor {mentor_id}.")
    return mentor


def propose_rematches(tx: Transaction, mentor_id: uuid.UUID, *, site: str, at: datetime) -> list[Match]:
    """For the people a paused or departed mentor left: the best mentors free, as proposals."""
    active = [MentorStatus.ACTIVE.value]
    store.lock_mentors(tx.connection, [m.id for m in store.list_mentors(tx.connection, statuses=active)])
    candidates = store.list_mentors(tx.connection, statuses=active)  # as they are, now that they are held
    due = [r for r in store.requests_due_rematch(tx.connection, mentor_id) if r.status is RequestStatus.WAITING]
    if not due:
        return []
    world = situation(tx.connection, site, at.date(), request_ids=[r.id for r in due])
    plan = runs.plan(due, candidates, world)
    made = []
    for proposal in plan.proposals:
        match = _new_match(proposal.request, proposal.mentor, proposal.score, proposal.breakdown, "rematch", at, None)
        made.append(_propose(tx, proposal.request, match))
    for item in plan.unmatched:
        store.save_request(tx.connection, replace(item.request, rematch_due=False, updated_at=at))
        log.info("no mentor free for a re-match", extra={"request_id": str(item.request.id)})
    return made


# Requests (from referrals' events) -------------------------------------------------------------


def referral_accepted(tx: Transaction, data: dict[str, Any], *, site: str) -> MatchRequest | None:
    conn = tx.connection
    existing = store.get_request(conn, data["referral_id"], for_update=True)
    profile = {**data, **data["preferences"]}
    request = accepted(
        existing,
        referral_id=data["referral_id"],
        person_id=data["person_id"],
        site=site,
        profile=profile,
        at=data["accepted_at"],
        counted_in_figures=data.get("counted_in_figures"),
    )
    if request is None:
        return None
    if existing is None:
        store.add_request(conn, request)
    else:
        store.save_request(conn, request)
    return request


def referral_ended(tx: Transaction, referral_id: uuid.UUID, *, reason: str, at: datetime) -> MatchRequest | None:
    """``referral.withdrawn`` or ``referral.closed``: a live match ends or is cancelled, the request goes."""
    request = store.get_request(tx.connection, referral_id, for_update=True)
    if request is None or request.status not in LIVE | {RequestStatus.COMPLETED}:
        return None
    if request.current_match_id is not None:
        match = store.get_match(tx.connection, request.current_match_id, for_update=True)
        if match is not None and match.is_live:
            _settle(tx, match, reason, at=at, actor="referrals", request=request)
    status = RequestStatus.WITHDRAWN if reason == "referral-withdrawn" else RequestStatus.CLOSED
    ended = replace(request, status=status, current_match_id=None, requeued_from_mentor=None, updated_at=at)
    store.save_request(tx.connection, ended)
    store.clear_profile(tx.connection, ended)
    return ended


def referral_requeued(
    tx: Transaction, referral_id: uuid.UUID, *, match_id: uuid.UUID, reason: str, at: datetime
) -> MatchRequest | None:
    """Referrals put the person back on its waiting list after match ``match_id`` ended. When
    matching ended that match itself, the request already waits: nothing happens a second time."""
    request = store.get_request(tx.connection, referral_id, for_update=True)
    if request is None or request.current_match_id != match_id:
        return None
    match = store.get_match(tx.connection, match_id, for_update=True)
    if match is not None and match.is_live:
        _settle(tx, match, reason, at=at, actor="referrals", request=request)
    again = waiting_again(request, at)
    store.save_request(tx.connection, again)
    return again


def person_erased(tx: Transaction, person_id: uuid.UUID, *, at: datetime) -> int:
    """Erase what matching holds about the person; ids and counts (pseudonymous) stay."""
    erased = 0
    for request in store.requests_of_person(tx.connection, person_id):
        if request.current_match_id is not None:
            match = store.get_match(tx.connection, request.current_match_id, for_update=True)
            if match is not None and match.is_live:
                _settle(tx, match, "person-erased", at=at, actor="referrals", request=request)
        store.erase_request(tx.connection, request, at)
        erased += 1
    store.forget_person(tx.connection, person_id)
    return erased


def _settle(
    tx: Transaction, match: Match, reason: str, *, at: datetime, actor: str, request: MatchRequest | None
) -> Match:
    """A live match overtaken by events: a proposal is cancelled, a confirmed match ends."""
    if match.status is MatchStatus.PROPOSED:
        cancel_reason = reason if reason in MATCH_CANCEL_REASONS else "referral-withdrawn"
        settled = lifecycle.cancel(match, reason=cancel_reason, at=at)
        store.save_match(tx.connection, settled)
        _emit_match(tx, MATCH_CANCELLED, settled, events.match_cancelled(settled), request)
        return settled
    end_reason = reason if reason in MATCH_END_REASONS else "referral-withdrawn"
    settled = lifecycle.end(match, reason=end_reason, at=at, actor=actor)
    store.save_match(tx.connection, settled)
    _emit_match(tx, MATCH_ENDED, settled, events.match_ended(settled), request)
    return settled


def _emit_match(
    tx: Transaction, event_type: EventType, match: Match, data: dict[str, Any], request: MatchRequest | None
) -> None:
    """A match event goes where its referral's own events go: kept at the site when the
    person's consent does not let the central office count them (their ids and this match
    would let it count them anyway). ``request`` is the match's, if the caller holds it."""
    if request is None or request.id != match.request_id:
        request = store.get_request(tx.connection, match.request_id)
    # A match always has its request (a foreign key); were it missing, nothing says the person
    # may be counted, so the event stays at the site.
    kept_at_site = request is None or request.kept_at_site
    tx.emit(event_type, subject=str(match.id), data=data, site_only=kept_at_site)


# Matches ---------------------------------------------------------------------------------------


def _new_match(
    request: MatchRequest,
    mentor: Mentor,
    score: float,
    breakdown: dict[str, dict[str, float]],
    method: str,
    at: datetime,
    run_id: uuid.UUID | None,
    actor: str = "matching",
) -> Match:
    return Match(
        id=uuid.uuid4(),
        request_id=request.id,
        person_id=request.person_id,
        mentor_id=mentor.id,
        method=method,
        score=score,
        breakdown=breakdown,
        proposed_at=at,
        proposed_by=actor,
        run_id=run_id,
    )


def _propose(
    tx: Transaction, request: MatchRequest, match: Match, *, idempotency: tuple[str, str] | None = None
) -> Match:
    store.add_match(tx.connection, match, idempotency=idempotency)
    store.save_request(
        tx.connection,
        replace(request, status=RequestStatus.PROPOSED, current_match_id=match.id, rematch_due=False),
    )
    _emit_match(tx, MATCH_PROPOSED, match, events.match_proposed(match), request)
    log.info("match proposed", extra={"match_id": str(match.id), "method": match.method})
    return match


def propose_match(
    tx: Transaction,
    *,
    request_id: uuid.UUID,
    mentor_id: uuid.UUID,
    site: str,
    at: datetime,
    actor: str,
    confirm: bool = False,
    idempotency: tuple[str, str] | None = None,
) -> Created:
    """A coordinator's own pairing: every hard constraint still applies."""
    conn = tx.connection
    if idempotency:
        replayed = _replay(store.match_for_key(conn, idempotency[0]), idempotency, "match")
        if replayed:
            return replayed
    mentor = _mentor(tx, mentor_id)
    request = _waiting_request(tx, request_id)
    found = explain(request, mentor, situation(conn, site, at.date(), request_ids=[request.id]))
    if not found.eligible:
        raise NotEligible(found.exclusions)
    breakdown = lifecycle.breakdown_of(found.contributions)
    match = _propose(
        tx,
        request,
        _new_match(request, mentor, found.score, breakdown, "manual", at, None, actor),
        idempotency=idempotency,
    )
    if confirm:
        match = confirm_match(tx, match.id, site=site, at=at, actor=actor)
    return Created(match)


def _waiting_request(tx: Transaction, request_id: uuid.UUID) -> MatchRequest:
    request = store.get_request(tx.connection, request_id, for_update=True)
    if request is None:
        raise NotFound(f"No match request {request_id}.")
    if request.status is not RequestStatus.WAITING:
        raise NotWaiting(request)
    return request


def _match(tx: Transaction, match_id: uuid.UUID, *, lock_mentor: bool = False) -> Match:
    """The match, its rows locked in the one order every writer keeps: mentor, request, match
    (so that a pause, a confirmation and a withdrawn referral never deadlock each other)."""
    seen = store.get_match(tx.connection, match_id)
    if seen is None:
        raise NotFound(f"No match {match_id}.")
    if lock_mentor:
        store.get_mentor(tx.connection, seen.mentor_id, for_update=True)
    store.get_request(tx.connection, seen.request_id, for_update=True)
    match = store.get_match(tx.connection, match_id, for_update=True)
    assert match is not None
    return match


def confirm_match(tx: Transaction, match_id: uuid.UUID, *, site: str, at: datetime, actor: str) -> Match:
    """Confirmed only if the mentor is still safe to match today (a check may have lapsed since)."""
    match = _match(tx, match_id, lock_mentor=True)
    lifecycle.confirm(match, at=at, actor=actor)  # refuses a match that is not proposed
    mentor = _mentor(tx, match.mentor_id)
    world = situation(tx.connection, site, at.date())
    # This proposal already holds its place: only the mentor's other rules can stop it now.
    lapsed = [e for e in mentor_exclusions(mentor, world) if e.code in MENTOR_LEVEL and e.code != "no-place"]
    if lapsed:
        raise NotEligible(lapsed)
    confirmed = lifecycle.confirm(match, at=at, actor=actor)
    store.save_match(tx.connection, confirmed)
    request = store.get_request(tx.connection, match.request_id, for_update=True)
    if request is not None:
        store.save_request(
            tx.connection,
            replace(request, status=RequestStatus.MATCHED, requeued_from_mentor=None, updated_at=at),
        )
    _emit_match(tx, MATCH_CONFIRMED, confirmed, events.match_confirmed(confirmed), request)
    return confirmed


def decline_match(tx: Transaction, match_id: uuid.UUID, *, by: str, reason: str, at: datetime) -> Match:
    """The proposal falls through; the person waits on, and this pair is not proposed again."""
    match = _match(tx, match_id)
    declined = lifecycle.decline(match, by=by, reason=reason, at=at)
    store.save_match(tx.connection, declined)
    request = store.get_request(tx.connection, match.request_id, for_update=True)
    if request is not None and request.current_match_id == match.id:
        store.save_request(tx.connection, waiting_again(request, at))
    _emit_match(tx, MATCH_DECLINED, declined, events.match_declined(declined), request)
    return declined


def end_match(
    tx: Transaction, match_id: uuid.UUID, *, reason: str, never_pair_again: bool, at: datetime, actor: str
) -> Match:
    """A confirmed match ends; the person waits again (as referrals puts them back on its list),
    unless mentoring was completed: then nobody new is proposed, and the referral is referrals' to
    close (an active one stays active there; one never started is requeued, and so is this)."""
    match = _match(tx, match_id)
    ended = lifecycle.end(match, reason=reason, at=at, actor=actor, never_pair_again=never_pair_again)
    store.save_match(tx.connection, ended)
    request = store.get_request(tx.connection, match.request_id, for_update=True)
    if request is not None and request.current_match_id == match.id:
        after = completed(request, at) if reason == "completed" else waiting_again(request, at)
        store.save_request(tx.connection, after)
    if never_pair_again:
        store.add_do_not_match(
            tx.connection,
            store.DoNotMatch(
                id=uuid.uuid4(),
                person_id=match.person_id,
                mentor_id=match.mentor_id,
                declared_by="ended-match",
                reason=reason,
                since=at.date(),
                recorded_by=actor,
                match_id=match.id,
            ),
        )
    _emit_match(tx, MATCH_ENDED, ended, events.match_ended(ended), request)
    return ended


def record_feedback(
    tx: Transaction,
    match_id: uuid.UUID,
    *,
    side: str,
    helped: str,
    would_match_again: bool,
    ended_because: str | None,
    at: datetime,
    actor: str,
) -> Feedback:
    match = _match(tx, match_id)
    if match.status is not MatchStatus.ENDED:
        raise InvalidFeedback("match", f"Feedback is given once a match has ended; this one is {match.status}.")
    item = Feedback(match.id, side, helped, would_match_again, ended_because, at, actor)
    store.put_feedback(tx.connection, item)
    return item


# Whole-group runs ------------------------------------------------------------------------------


def create_run(
    tx: Transaction,
    *,
    site: str,
    at: datetime,
    actor: str,
    hold_back: int,
    request_ids: list[uuid.UUID] | None,
    idempotency: tuple[str, str] | None = None,
) -> Created:
    """Plan a run over every waiting request (or the ones named): a draft, until published."""
    conn = tx.connection
    if idempotency:
        earlier = store.run_for_key(conn, idempotency[0])
        replayed = _replay((earlier, earlier["request_fingerprint"]) if earlier else None, idempotency, "run")
        if replayed:
            return replayed
    waiting, _ = store.list_requests(conn, statuses=[RequestStatus.WAITING.value], ids=request_ids)
    if request_ids is not None:
        missing = sorted(set(request_ids) - {r.id for r in waiting})
        if missing:
            raise NotWaitingIds(missing)
    candidates = store.list_mentors(conn, statuses=[MentorStatus.ACTIVE.value, MentorStatus.PAUSED.value])
    world = situation(conn, site, at.date(), request_ids=[r.id for r in waiting])
    started = time.perf_counter()
    plan = runs.plan(waiting, candidates, world, hold_back=hold_back)
    seconds = time.perf_counter() - started
    run = {
        "id": uuid.uuid4(),
        "status": "draft",
        "created_at": at,
        "created_by": actor,
        "hold_back": hold_back,
        "held_back": plan.held_back,
        "requests_considered": plan.requests_considered,
        "mentors_considered": plan.mentors_considered,
        "total_score": plan.total_score,
        "greedy_score": plan.greedy_score,
        "seconds": round(seconds, 4),
        "weights": world.policy.normalised,
        "idempotency_key": idempotency[0] if idempotency else None,
        "request_fingerprint": idempotency[1] if idempotency else None,
    }
    store.add_run(
        conn,
        run,
        [
            {"request_id": p.request.id, "mentor_id": p.mentor.id, "score": p.score, "breakdown": p.breakdown}
            for p in plan.proposals
        ],
        [{"request_id": u.request.id, "urgent": u.request.urgent, "reasons": u.reasons} for u in plan.unmatched],
    )
    log.info(
        "matching run planned",
        extra={"run_id": str(run["id"]), "proposals": len(plan.proposals), "unmatched": len(plan.unmatched)},
    )
    return Created(run)


class NotWaitingIds(Exception):
    def __init__(self, ids: list[uuid.UUID]):
        self.ids = ids
        super().__init__(f"{len(ids)} of the requests named are not waiting for a mentor.")


class RunNotDraft(Exception):
    def __init__(self, status: str):
        self.status = status
        super().__init__(f"This run is {status}: only a draft can be published or discarded.")


def publish_run(
    tx: Transaction,
    run_id: uuid.UUID,
    *,
    leave_out: set[uuid.UUID],
    confirm: bool,
    site: str,
    at: datetime,
    actor: str,
) -> dict[str, Any]:
    """Turn a draft into proposals (or confirmed matches). Each pair is checked again as things
    stand now: a request no longer waiting or a mentor no longer eligible is skipped, with why."""
    conn = tx.connection
    run = store.get_run(conn, run_id, for_update=True)
    if run is None:
        raise NotFound(f"No matching run {run_id}.")
    if run["status"] != "draft":
        raise RunNotDraft(run["status"])
    proposals, _ = store.run_details(conn, run_id)
    store.lock_mentors(conn, [p["mentor_id"] for p in proposals])
    world = situation(conn, site, at.date(), request_ids=[p["request_id"] for p in proposals])
    loads = dict(world.loads)
    for proposal in sorted(proposals, key=lambda p: -p["score"]):
        request_id = proposal["request_id"]
        if request_id in leave_out:
            store.save_run_proposal(conn, run_id, request_id, outcome="left-out")
            continue
        request = store.get_request(conn, request_id, for_update=True)
        mentor = store.get_mentor(conn, proposal["mentor_id"])
        reasons = []
        if request is None or request.status is not RequestStatus.WAITING:
            reasons.append(f"The request is {request.status if request else 'gone'}, no longer waiting.")
        elif mentor is None:
            reasons.append("The mentor is gone.")
        else:
            found = explain(request, mentor, replace(world, loads=loads))
            reasons += [e.reason for e in found.exclusions]
        if reasons or request is None or mentor is None:
            store.save_run_proposal(conn, run_id, request_id, outcome="skipped", skip_reasons=reasons)
            continue
        match = _propose(
            tx,
            request,
            _new_match(request, mentor, proposal["score"], proposal["breakdown"], "run", at, run_id, actor),
        )
        held = loads.get(mentor.id, Load())
        loads[mentor.id] = Load(held.confirmed, held.proposed + 1)
        outcome = "proposed"
        if confirm:
            confirm_match(tx, match.id, site=site, at=at, actor=actor)
            outcome = "confirmed"
        store.save_run_proposal(conn, run_id, request_id, outcome=outcome, match_id=match.id)
    store.save_run(conn, run_id, status="published", published_at=at, published_by=actor)
    published = store.get_run(conn, run_id)
    assert published is not None
    return published


def discard_run(tx: Transaction, run_id: uuid.UUID, *, at: datetime) -> dict[str, Any]:
    run = store.get_run(tx.connection, run_id, for_update=True)
    if run is None:
        raise NotFound(f"No matching run {run_id}.")
    if run["status"] != "draft":
        raise RunNotDraft(run["status"])
    store.save_run(tx.connection, run_id, status="discarded", discarded_at=at)
    return {**run, "status": "discarded", "discarded_at": at}


# Do-not-match and policy ------------------------------------------------------------------------


def declare_conflict(
    tx: Transaction,
    *,
    person_id: uuid.UUID,
    mentor_id: uuid.UUID,
    declared_by: str,
    reason: str,
    at: datetime,
    actor: str,
) -> tuple[store.DoNotMatch, bool]:
    """Record a do-not-match pair; a live proposal between them is cancelled at once (a confirmed
    match is left for a coordinator to end, with a reason). Returns the entry and whether it is new.

    A side that declares the same pair again gets its first declaration back, unchanged (whatever
    reason the repeat gives), and nothing is written: a retried or double-clicked declaration
    changes nothing, as an idempotent create should. To change the reason, withdraw and declare."""
    _mentor(tx, mentor_id)  # locked: a racing repeat waits here, then finds the first
    entry = store.DoNotMatch(uuid.uuid4(), person_id, mentor_id, declared_by, reason, at.date(), actor)
    kept = store.add_do_not_match(tx.connection, entry)
    if kept is not entry:
        return kept, False
    for seen in store.live_matches_of_mentor(tx.connection, mentor_id):
        if seen.person_id == person_id and seen.status is MatchStatus.PROPOSED:
            match = _match(tx, seen.id)
            if match.status is not MatchStatus.PROPOSED:
                continue
            request = store.get_request(tx.connection, match.request_id)
            declined = lifecycle.decline(match, by="coordinator", reason="conflict-of-interest", at=at)
            store.save_match(tx.connection, declined)
            _emit_match(tx, MATCH_DECLINED, declined, events.match_declined(declined), request)
            if request is not None and request.current_match_id == match.id:
                store.save_request(tx.connection, waiting_again(request, at))
    return entry, True


def set_policy(tx: Transaction, policy: Policy, *, at: datetime, actor: str) -> int:
    return store.add_policy(tx.connection, policy, at=at, actor=actor)
