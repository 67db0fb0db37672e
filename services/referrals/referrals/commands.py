"""The use cases of referrals, each one transaction: domain rules, then the store and the
outbox through the same connection. The API and the message handlers only translate to and
from these; they never touch the store themselves for a change."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from peerlink.contracts import (
    ADVOCACY_OPENED,
    ADVOCACY_RESOLVED,
    CONTACT_RECORDED,
    OUTCOME_RECORDED,
    PERSON_ERASED,
    REFERRAL_ACCEPTED,
    REFERRAL_ACTIVATED,
    REFERRAL_CLOSED,
    REFERRAL_DECLINED,
    REFERRAL_MATCHED,
    REFERRAL_PERSON_RESOLVED,
    REFERRAL_RECEIVED,
    REFERRAL_REQUEUED,
    REFERRAL_WITHDRAWN,
    EventType,
)
from peerlink.contracts.vocabulary import age_band
from referrals import store
from referrals.domain import advocacy, days, duplicates, erasure, events, intake, outcomes, workflow
from referrals.domain.workflow import Action, Referral, Status


class Transaction(Protocol):
    """A unit of work (HTTP) or a handler context (messages): one connection, one outbox."""

    connection: Connection

    def emit(self, event_type: EventType, *, subject: str, data: dict[str, Any], site_only: bool = False) -> Any: ...


class NotFound(LookupError):
    pass


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came with a different request."""


class IntakeRaced(Exception):
    """The same Idempotency-Key clashed twice with a request being taken in at the same time."""


@dataclass(frozen=True)
class Taken:
    referral: Referral
    person: intake.Person
    replayed: bool = False  # an earlier request with the same Idempotency-Key made it


# Intake ---------------------------------------------------------------------------------


def take_referral(
    tx: Transaction,
    new: intake.NewReferral,
    *,
    site: str,
    now: datetime,
    zone: tzinfo,
    idempotency: tuple[str, str] | None = None,
) -> Taken:
    """Take a referral in, on the site's day (``zone``): eligibility and age are the site's."""
    today = days.day_of(now, zone)  # a sixteenth birthday starts at midnight in Wales
    intake.check_eligibility(new, today)
    conn = tx.connection
    if idempotency:
        earlier = store.referral_for_key(conn, idempotency[0])
        if earlier:
            referral, fingerprint = earlier
            if fingerprint != idempotency[1]:
                raise IdempotencyConflict("This Idempotency-Key was used for a different referral.")
            person = store.get_person(conn, referral.person_id)
            assert person is not None
            return Taken(referral, person, replayed=True)
    identity = intake.identity_of(
        new.given_name, new.family_name, new.date_of_birth, new.contact.email, new.contact.phone
    )
    referral_id = uuid.uuid4()
    known = store.people_like(conn, identity)
    check: duplicates.PossibleDuplicate | None = None
    open_one = None
    if known:
        # Possibly the same person again: linked to who we know and flagged. Nothing about her
        # changes by itself (anyone who knows her name and birthday could have sent this); the
        # details given wait on the referral until a coordinator says who it is.
        person = known[0]
        check = duplicates.flag(referral_id, person, identity, new, now)
        open_one = next((r for r in store.referrals_of(conn, person.id) if r.is_open), None)
    else:
        person = intake.new_person(new)
        store.add_person(conn, person, identity, created_at=now)
    referral = Referral(
        id=referral_id,
        person_id=person.id,
        site=site,
        source=new.source,
        support_needs=tuple(dict.fromkeys(new.support_needs)),
        consent=intake.consent_from(new, now, today=today),
        received_at=now,
        age_band=age_band(intake.age_on(new.date_of_birth, today)),
        interests=tuple(dict.fromkeys(new.interests)),
        availability=tuple(dict.fromkeys(new.availability)),
        preferences=new.preferences,
        risk_flags=tuple(dict.fromkeys(new.risk_flags)),
        risk_note=new.risk_note,
        self_referral=new.self_referral,
        known_person=bool(known),
        duplicate_of=open_one.id if open_one else None,
        duplicate_pending=check is not None,
    )
    store.add_referral(conn, referral, idempotency=idempotency)
    tx.emit(
        REFERRAL_RECEIVED,
        subject=str(referral.id),
        data=events.received(referral, person),
        site_only=not referral.consent.counted_in_figures,
    )
    if check is None:
        tx.emit(CONTACT_RECORDED, subject=str(person.id), data=events.contact(person))
    else:
        store.add_possible_duplicate(conn, check)
    return Taken(referral, person)


def resolve_possible_duplicate(
    tx: Transaction,
    referral_id: uuid.UUID,
    decision: duplicates.Resolution,
    *,
    apply_contact_details: bool,
    at: datetime,
    actor: str,
    zone: tzinfo,
) -> tuple[Referral, duplicates.PossibleDuplicate]:
    """A coordinator says who a referral linked to someone known is (see ``domain.duplicates``).

    The same person: the referral stays hers, its age worked out from her record; her contact
    details change (and ``contact.recorded`` tells notifications) only when the coordinator
    asks for the ones given with it. A different person: the referral gets a person of its own
    with those details, and their ``contact.recorded``. Either way ``referral.person-resolved``
    follows (ids and codes only): the other services held back what the referral could not yet
    say about anyone (her acknowledgement, her consent to be counted) and now know whose it is.
    It comes after any ``contact.recorded``, so the new person's details are there to write to."""
    conn = tx.connection
    referral = _referral(tx, referral_id)
    check = store.get_possible_duplicate(conn, referral_id, for_update=True)
    if check is None:
        raise NotFound(f"Referral {referral_id} was not linked to anyone as a possible duplicate.")
    duplicates.ensure_pending(check, zone)
    assert check.proposed is not None
    known = _person(tx, check.person_id, for_update=True)
    if decision is duplicates.Resolution.SAME_PERSON:
        assert known.date_of_birth is not None  # erasure resolves what was linked to her
        # (She was 16 or over when first referred, so on this later day too: no check again.)
        day = days.day_of(referral.received_at, zone)
        resolved = duplicates.resolve(
            check, decision, apply_contact_details=apply_contact_details, at=at, actor=actor, zone=zone
        )
        # Hers now: her age band and consent review (asked again at 18) follow her record.
        moved = replace(
            referral,
            duplicate_pending=False,
            age_band=age_band(intake.age_on(known.date_of_birth, day)),
            consent=replace(referral.consent, review_on=intake.consent_review_on(known.date_of_birth, day)),
        )
        if apply_contact_details:
            person = duplicates.with_contact_details(known, check.proposed)
            store.update_person(conn, person, _identity(person))
            tx.emit(CONTACT_RECORDED, subject=str(person.id), data=events.contact(person))
    else:
        person = duplicates.different_person(check.proposed)
        store.add_person(conn, person, _identity(person), created_at=at)
        resolved = duplicates.resolve(
            check, decision, apply_contact_details=False, at=at, actor=actor, zone=zone, new_person_id=person.id
        )
        moved = replace(referral, person_id=person.id, known_person=False, duplicate_of=None, duplicate_pending=False)
        tx.emit(CONTACT_RECORDED, subject=str(person.id), data=events.contact(person))
    store.save_referral(conn, moved)
    store.save_possible_duplicate(conn, resolved)
    # Where the referral's own events go (its consent decides, as for every referral.* event).
    tx.emit(
        REFERRAL_PERSON_RESOLVED,
        subject=str(moved.id),
        data=events.person_resolved(moved, resolved),
        site_only=not moved.consent.counted_in_figures,
    )
    return moved, resolved


def _identity(person: intake.Person) -> intake.Identity:
    assert person.date_of_birth is not None
    return intake.identity_of(
        person.given_name, person.family_name, person.date_of_birth, person.contact.email, person.contact.phone
    )


# The workflow -----------------------------------------------------------------------------


def move(
    tx: Transaction,
    referral_id: uuid.UUID,
    action: Action,
    *,
    at: datetime,
    actor: str,
    reason: str | None = None,
    note: str | None = None,
    priority: bool | None = None,
    zone: tzinfo,
) -> Referral:
    """A transition asked for by a person (accept, decline, withdraw, start, close, reopen).

    None for someone erased: her open referrals were withdrawn with the erasure, and reopening
    a closed one would put a nameless person on the waiting list and her needs on the wire."""
    referral = _referral(tx, referral_id)
    # Read, not locked: an erasure locks the person, then her referrals (this one waits for us).
    erasure.ensure_not_erased(_person(tx, referral.person_id), zone)
    if priority is not None and action in (Action.ACCEPT, Action.REOPEN):
        referral = replace(referral, priority=priority)
    return _transition(tx, referral, action, at=at, actor=actor, reason=reason, note=note)


def _transition(
    tx: Transaction,
    referral: Referral,
    action: Action,
    *,
    at: datetime,
    actor: str,
    reason: str | None = None,
    note: str | None = None,
    match_id: uuid.UUID | None = None,
    mentor_id: uuid.UUID | None = None,
) -> Referral:
    previous_match = referral.current_match_id
    moved, transition = workflow.apply(
        referral, action, at=at, actor=actor, reason=reason, note=note, match_id=match_id, mentor_id=mentor_id
    )
    store.save_referral(tx.connection, moved)
    store.add_transition(tx.connection, transition)
    event_type, data = _event_for(tx, moved, transition, previous_match)
    tx.emit(event_type, subject=str(moved.id), data=data, site_only=not moved.consent.counted_in_figures)
    return moved


def _event_for(
    tx: Transaction, referral: Referral, transition: workflow.Transition, previous_match: uuid.UUID | None
) -> tuple[EventType, dict[str, Any]]:
    action = transition.action
    if action in (Action.ACCEPT, Action.REOPEN):
        person = store.get_person(tx.connection, referral.person_id)
        return REFERRAL_ACCEPTED, events.accepted(referral, transition, person.preferred_language if person else "en")
    if action is Action.REQUEUE:
        return REFERRAL_REQUEUED, events.requeued(referral, transition, previous_match)
    chosen: dict[Action, tuple[EventType, Callable[..., dict[str, Any]]]] = {
        Action.DECLINE: (REFERRAL_DECLINED, events.declined),
        Action.WITHDRAW: (REFERRAL_WITHDRAWN, events.withdrawn),
        Action.MATCH: (REFERRAL_MATCHED, events.matched),
        Action.START: (REFERRAL_ACTIVATED, events.activated),
        Action.CLOSE: (REFERRAL_CLOSED, events.closed),
    }
    event_type, build = chosen[action]
    return event_type, build(referral, transition)


def match_confirmed(
    tx: Transaction, *, referral_id: uuid.UUID, match_id: uuid.UUID, mentor_id: uuid.UUID, at: datetime
) -> Referral | None:
    """Matching confirmed a match. Returns None when there is nothing to do: the same match
    again, or a referral that closed meanwhile (matching ends that match on its own event)."""
    referral = _referral(tx, referral_id)
    if referral.current_match_id == match_id or referral.status is not Status.ACCEPTED:
        return None
    return _transition(tx, referral, Action.MATCH, at=at, actor="matching", match_id=match_id, mentor_id=mentor_id)


def match_ended(
    tx: Transaction, *, referral_id: uuid.UUID, match_id: uuid.UUID, reason: str, at: datetime
) -> Referral | None:
    """A match ended: an open referral goes back on the waiting list; any other, nothing.

    Mentoring that was completed is the end of the road, not a new wait: the referral stays
    active for the coordinator to close with its outcome."""
    referral = _referral(tx, referral_id)
    if referral.current_match_id != match_id or referral.status not in (Status.MATCHED, Status.ACTIVE):
        return None
    if reason == "completed" and referral.status is Status.ACTIVE:
        return None
    return _transition(tx, referral, Action.REQUEUE, at=at, actor="matching", reason=reason)


def _referral(tx: Transaction, referral_id: uuid.UUID) -> Referral:
    referral = store.get_referral(tx.connection, referral_id, for_update=True)
    if referral is None:
        raise NotFound(f"No referral {referral_id}.")
    return referral


# Advocacy ---------------------------------------------------------------------------------


def open_advocacy_issue(
    tx: Transaction, person_id: uuid.UUID, *, category: str, summary: str, now: datetime, zone: tzinfo
) -> advocacy.AdvocacyIssue:
    person = _person(tx, person_id, for_update=True)  # one writer a person: the limit of three holds
    erasure.ensure_not_erased(person, zone)
    issue = advocacy.open_issue(
        person_id, store.issues_of(tx.connection, person_id), category=category, summary=summary, now=now, zone=zone
    )
    store.add_issue(tx.connection, issue)
    tx.emit(
        ADVOCACY_OPENED,
        subject=str(issue.id),
        data=events.advocacy_opened(issue),
        site_only=not _counted(tx, person_id),
    )
    return issue


def resolve_advocacy_issue(
    tx: Transaction, person_id: uuid.UUID, issue_id: uuid.UUID, *, resolution: str, now: datetime, zone: tzinfo
) -> advocacy.AdvocacyIssue:
    erasure.ensure_not_erased(_person(tx, person_id, for_update=True), zone)
    issue = store.get_issue(tx.connection, person_id, issue_id)
    if issue is None:
        raise NotFound(f"No advocacy issue {issue_id} for this person.")
    resolved = advocacy.resolve(issue, resolution=resolution, now=now, zone=zone)
    store.save_issue(tx.connection, resolved)
    tx.emit(
        ADVOCACY_RESOLVED,
        subject=str(issue.id),
        data=events.advocacy_resolved(resolved),
        site_only=not _counted(tx, person_id),
    )
    return resolved


# Check-ins --------------------------------------------------------------------------------


def record_check_in(
    tx: Transaction,
    referral_id: uuid.UUID,
    *,
    scale: outcomes.Scale,
    timepoint: str,
    answers: dict[str, int],
    now: datetime,
    zone: tzinfo,
) -> tuple[outcomes.CheckIn, outcomes.Progress]:
    referral = _referral(tx, referral_id)
    erasure.ensure_not_erased(_person(tx, referral.person_id), zone)  # her answers are hers
    if referral.status in (Status.RECEIVED, Status.DECLINED, Status.WITHDRAWN):
        raise outcomes.InvalidCheckIn(f"A {referral.status} referral has no check-ins.", "referral")
    check_in, progress = outcomes.record_check_in(
        scale,
        referral_id=referral.id,
        person_id=referral.person_id,
        timepoint=timepoint,
        answers=answers,
        earlier=store.check_ins_of(tx.connection, [referral.id]),
        now=now,
    )
    store.add_check_in(tx.connection, check_in)
    tx.emit(
        OUTCOME_RECORDED,
        subject=str(check_in.id),
        data=events.outcome_recorded(check_in, progress, scale),
        site_only=not referral.consent.counted_in_figures,
    )
    return check_in, progress


# Erasure ----------------------------------------------------------------------------------


def erase_person(tx: Transaction, person_id: uuid.UUID, *, now: datetime, actor: str, zone: tzinfo) -> None:
    """Withdraw what is open, then erase everything personal; the counts stay."""
    person = _person(tx, person_id, for_update=True)
    erased = erasure.erase(person, now, zone)
    counted = _counted(tx, person_id)
    for referral in store.referrals_of(tx.connection, person_id):
        if referral.is_open:
            referral = _transition(tx, referral, Action.WITHDRAW, at=now, actor=actor, reason="by-person")
        if referral.duplicate_pending:
            # An open question about her goes with her data: the details it came with named her.
            check = store.get_possible_duplicate(tx.connection, referral.id, for_update=True)
            assert check is not None
            store.save_possible_duplicate(tx.connection, duplicates.erased(check, now))
            store.save_referral(tx.connection, replace(referral, duplicate_pending=False))
    store.erase_person_data(tx.connection, erased)
    tx.emit(PERSON_ERASED, subject=str(person_id), data=events.person_erased(person_id, now), site_only=not counted)


def _counted(tx: Transaction, person_id: uuid.UUID) -> bool:
    """Whether the person's newest referral lets the central office count them. A referral not
    yet known to be hers (a possible duplicate) does not speak for her."""
    mine = [r for r in store.referrals_of(tx.connection, person_id) if not r.duplicate_pending]
    return bool(mine) and mine[-1].consent.counted_in_figures


def _person(tx: Transaction, person_id: uuid.UUID, *, for_update: bool = False) -> intake.Person:
    person = store.get_person(tx.connection, person_id, for_update=for_update)
    if person is None:
        raise NotFound(f"No person {person_id}.")
    return person
