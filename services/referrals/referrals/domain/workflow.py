"""The triage workflow as an explicit state machine, and every referral's place in it.

received -> accepted | declined
accepted -> matched (on match.confirmed)
matched  -> active (mentoring started)
matched | active -> accepted (the match ended: back on the waiting list)
active   -> closed (with an outcome)
closed   -> accepted (re-entry without a new triage)
received | accepted | matched | active -> withdrawn

A referral linked to someone already known waits for a coordinator to say whether it is the same
person (see ``duplicates``): until then it can be withdrawn, not accepted or declined.
"""

from __future__ import annotations

import enum
import statistics
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo

from referrals.domain import days
from referrals.domain.intake import Consent, Preferences


class Status(enum.StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    MATCHED = "matched"
    ACTIVE = "active"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Action(enum.StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    MATCH = "match"  # from matching's match.confirmed
    START = "start"
    REQUEUE = "requeue"  # from matching's match.ended
    CLOSE = "close"
    REOPEN = "reopen"


S, A = Status, Action
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (S.RECEIVED, A.ACCEPT): S.ACCEPTED,
    (S.RECEIVED, A.DECLINE): S.DECLINED,
    (S.ACCEPTED, A.MATCH): S.MATCHED,
    (S.MATCHED, A.START): S.ACTIVE,
    (S.MATCHED, A.REQUEUE): S.ACCEPTED,
    (S.ACTIVE, A.REQUEUE): S.ACCEPTED,
    (S.ACTIVE, A.CLOSE): S.CLOSED,
    (S.CLOSED, A.REOPEN): S.ACCEPTED,
    **{(status, A.WITHDRAW): S.WITHDRAWN for status in (S.RECEIVED, S.ACCEPTED, S.MATCHED, S.ACTIVE)},
}
# What people may do through the API; the rest follows matching's events.
BY_PEOPLE = frozenset({A.ACCEPT, A.DECLINE, A.WITHDRAW, A.START, A.CLOSE, A.REOPEN})
OPEN = frozenset({S.RECEIVED, S.ACCEPTED, S.MATCHED, S.ACTIVE})
# What waits for a possible duplicate to be resolved: both reach the person the referral is
# linked to (a message to her address, a match in her name), who may be someone else.
HELD_FOR_DUPLICATE_CHECK = frozenset({A.ACCEPT, A.DECLINE})


class IllegalTransition(Exception):
    def __init__(self, status: Status, action: Action, *, duplicate_pending: bool = False):
        self.status = status
        self.action = action
        self.allowed = allowed_actions(status, duplicate_pending=duplicate_pending)
        super().__init__(self._why() + self._what_is_allowed())

    def _why(self) -> str:
        return f"A {self.status} referral cannot be {_past(self.action)}; "

    def _what_is_allowed(self) -> str:
        if not self.allowed:
            return "it is closed to changes."
        return f"it can be: {', '.join(_past(a) for a in self.allowed)}."


class AwaitingDuplicateCheck(IllegalTransition):
    """Accepting or declining a possible duplicate before a coordinator said who it is."""

    def __init__(self, status: Status, action: Action):
        super().__init__(status, action, duplicate_pending=True)

    def _why(self) -> str:
        return (
            f"This referral cannot be {_past(self.action)} yet: it is linked to someone already known and "
            "a coordinator must first say whether it is the same person "
            "(POST /referrals/{id}/duplicate-check/resolve); meanwhile "
        )


def _past(action: Action) -> str:
    return {
        "accept": "accepted",
        "decline": "declined",
        "withdraw": "withdrawn",
        "match": "matched",
        "start": "started",
        "requeue": "requeued",
        "close": "closed",
        "reopen": "reopened",
    }[action]


def allowed_actions(status: Status, *, by_people: bool = True, duplicate_pending: bool = False) -> list[Action]:
    return [
        a
        for (s, a) in TRANSITIONS
        if s == status
        and (a in BY_PEOPLE or not by_people)
        and not (duplicate_pending and a in HELD_FOR_DUPLICATE_CHECK)
    ]


def next_status(status: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


@dataclass(frozen=True)
class Transition:
    """Who moved a referral, when and why: every change is kept."""

    id: uuid.UUID
    referral_id: uuid.UUID
    action: Action
    from_status: Status
    to_status: Status
    at: datetime
    actor: str
    reason: str | None = None
    note: str | None = None  # coordinators' words; erased with the person


@dataclass(frozen=True)
class Referral:
    id: uuid.UUID
    person_id: uuid.UUID
    site: str
    source: str
    support_needs: tuple[str, ...]
    consent: Consent
    received_at: datetime
    age_band: str
    status: Status = Status.RECEIVED
    interests: tuple[str, ...] = ()
    availability: tuple[str, ...] = ()
    preferences: Preferences = field(default_factory=Preferences)
    priority: bool = False
    risk_flags: tuple[str, ...] = ()
    risk_note: str | None = None
    self_referral: bool = False
    known_person: bool = False
    duplicate_of: uuid.UUID | None = None
    # Linked to someone already known, and nobody has said yet whether it is the same person.
    duplicate_pending: bool = False
    accepted_at: datetime | None = None
    matched_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    current_match_id: uuid.UUID | None = None
    mentor_id: uuid.UUID | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


def apply(
    referral: Referral,
    action: Action,
    *,
    at: datetime,
    actor: str,
    reason: str | None = None,
    note: str | None = None,
    match_id: uuid.UUID | None = None,
    mentor_id: uuid.UUID | None = None,
) -> tuple[Referral, Transition]:
    """The referral after ``action``, and the record of it; raises :class:`IllegalTransition`."""
    if (referral.status, action) not in TRANSITIONS:
        raise IllegalTransition(referral.status, action, duplicate_pending=referral.duplicate_pending)
    if referral.duplicate_pending and action in HELD_FOR_DUPLICATE_CHECK:
        raise AwaitingDuplicateCheck(referral.status, action)
    target = TRANSITIONS[(referral.status, action)]
    changes: dict[str, object] = {"status": target}
    if action in (Action.ACCEPT, Action.REOPEN, Action.REQUEUE):
        # Waiting (again) from now: the wait is measured from the latest acceptance.
        changes.update(accepted_at=at, matched_at=None, current_match_id=None, mentor_id=None)
    if action is Action.REOPEN:
        changes.update(closed_at=None, outcome=None)
    if action is Action.MATCH:
        changes.update(matched_at=at, current_match_id=match_id, mentor_id=mentor_id)
    if action is Action.CLOSE:
        changes.update(closed_at=at, outcome=reason)
    if action in (Action.WITHDRAW, Action.DECLINE):
        changes.update(closed_at=at)
    transition = Transition(
        id=uuid.uuid4(),
        referral_id=referral.id,
        action=action,
        from_status=referral.status,
        to_status=target,
        at=at,
        actor=actor,
        reason=reason,
        note=note,
    )
    return replace(referral, **changes), transition  # type: ignore[arg-type]


# The waiting list -------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    referral: Referral
    days_waiting: int


def waiting_list(referrals: Iterable[Referral], now: datetime, zone: tzinfo) -> list[Waiting]:
    """Accepted referrals, priority first, then longest waiting first; the days waiting are the
    site's days since the day of acceptance."""
    waiting = [r for r in referrals if r.status is Status.ACCEPTED and r.accepted_at is not None]
    waiting.sort(key=lambda r: (not r.priority, r.accepted_at))
    return [Waiting(r, days.days_between(r.accepted_at, now, zone)) for r in waiting]  # type: ignore[arg-type]


def median_wait_days(waits: Iterable[tuple[datetime, datetime]], zone: tzinfo) -> float | None:
    """The median days from acceptance to a match: what a site can tell the people it refers.
    Counted as the waiting list counts them (the site's days), so that it is the middle of the
    days waiting that people were shown on the day they were matched."""
    values = [days.days_between(accepted, matched, zone) for accepted, matched in waits]
    return float(statistics.median(values)) if values else None
