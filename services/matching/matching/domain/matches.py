"""The match lifecycle: proposed -> confirmed | declined | cancelled; confirmed -> ended.

A proposal waits for a coordinator to confirm it (having spoken to both) or for someone to
decline it, with the reason; events can overtake it (the referral withdrawn, the mentor
paused), and it is cancelled. A confirmed match ends with a reason, and may forbid the pair
forever ("never pair again"). Who decided what, when and why is kept on the match.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any


class MatchStatus(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    ENDED = "ended"


LIVE = frozenset({MatchStatus.PROPOSED, MatchStatus.CONFIRMED})
ALLOWED = {
    MatchStatus.PROPOSED: ("confirm", "decline", "cancel"),
    MatchStatus.CONFIRMED: ("end",),
}


class IllegalMatchChange(Exception):
    def __init__(self, status: MatchStatus, action: str):
        self.status = status
        self.action = action
        self.allowed = [a for a in ALLOWED.get(status, ()) if a != "cancel"]
        super().__init__(
            f"A {status} match cannot be {_past(action)}; "
            + (f"it can be: {', '.join(_past(a) for a in self.allowed)}." if self.allowed else "it is settled.")
        )


def _past(action: str) -> str:
    return {"confirm": "confirmed", "decline": "declined", "cancel": "cancelled", "end": "ended"}[action]


@dataclass(frozen=True)
class Match:
    id: uuid.UUID
    request_id: uuid.UUID  # the referral's id
    person_id: uuid.UUID
    mentor_id: uuid.UUID
    method: str  # manual | run | rematch
    score: float
    # criterion -> {"value", "weight", "points"} when proposed: what the decision rested on
    breakdown: dict[str, dict[str, float]]
    proposed_at: datetime
    proposed_by: str
    run_id: uuid.UUID | None = None
    status: MatchStatus = MatchStatus.PROPOSED
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    declined_at: datetime | None = None
    declined_by: str | None = None  # coordinator | mentor | mentee
    decline_reason: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    never_pair_again: bool = False

    @property
    def referral_id(self) -> uuid.UUID:
        return self.request_id

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    @property
    def days_confirmed(self) -> int | None:
        if self.confirmed_at is None:
            return None
        return max(0, ((self.ended_at or self.confirmed_at) - self.confirmed_at).days)


def _check(match: Match, action: str) -> None:
    if action not in ALLOWED.get(match.status, ()):
        raise IllegalMatchChange(match.status, action)


def confirm(match: Match, *, at: datetime, actor: str) -> Match:
    _check(match, "confirm")
    return replace(match, status=MatchStatus.CONFIRMED, confirmed_at=at, confirmed_by=actor)


def decline(match: Match, *, by: str, reason: str, at: datetime) -> Match:
    _check(match, "decline")
    return replace(match, status=MatchStatus.DECLINED, declined_at=at, declined_by=by, decline_reason=reason)


def cancel(match: Match, *, reason: str, at: datetime) -> Match:
    _check(match, "cancel")
    return replace(match, status=MatchStatus.CANCELLED, cancelled_at=at, cancel_reason=reason)


def end(match: Match, *, reason: str, at: datetime, actor: str, never_pair_again: bool = False) -> Match:
    _check(match, "end")
    return replace(
        match,
        status=MatchStatus.ENDED,
        ended_at=at,
        ended_by=actor,
        end_reason=reason,
        never_pair_again=never_pair_again,
    )


def settle(match: Match, *, reason: str, at: datetime, actor: str) -> tuple[Match, str]:
    """A live match that events overtook: a proposal is cancelled, a confirmed match ends.
    Returns the match and what happened to it (``cancelled`` or ``ended``)."""
    if match.status is MatchStatus.PROPOSED:
        return cancel(match, reason=reason, at=at), "cancelled"
    return end(match, reason=reason, at=at, actor=actor), "ended"


def breakdown_of(contributions: Any) -> dict[str, dict[str, float]]:
    """The stored form of an explanation's contributions."""
    return {
        c.criterion: {"value": round(c.value, 6), "weight": round(c.weight, 6), "points": round(c.points, 6)}
        for c in contributions
    }
