"""The figures a site watches itself by, for a cohort of referrals (those received in a period,
so that cohorts never mix): how fast triage answers, how many are accepted, how long people
wait for a mentor and whether that differs by who referred them.

Joy publishes "usually replies in 3 days, 94% accepted"; commissioners ask for waits by
referral source. Plain Python over a cohort's referrals and their transitions.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from referrals.domain.workflow import Action, Referral, Status, Transition

# Joy declines a referral left unanswered for two weeks; we flag it for the coordinator instead.
TRIAGE_DUE_WITHIN = timedelta(days=14)


@dataclass(frozen=True)
class Wait:
    count: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class SiteFigures:
    received: int
    accepted: int
    declined: int
    withdrawn_before_triage: int
    acceptance_rate: float | None
    median_days_to_triage: float | None
    awaiting_triage: int
    triage_overdue: int
    matched: int
    wait_for_a_mentor: Wait
    wait_by_source: dict[str, Wait]
    disengaged: int
    consent_reviews_due: int


def triage_overdue(referral: Referral, now: datetime) -> bool:
    return referral.status is Status.RECEIVED and now - referral.received_at > TRIAGE_DUE_WITHIN


def site_figures(
    referrals: Sequence[Referral], transitions: Iterable[Transition], *, now: datetime, today: date
) -> SiteFigures:
    """``today`` is the site's day (a consent review falls due on it); the days to triage and
    to a match are lengths of time, the same wherever they are counted."""
    by_referral: dict[object, list[Transition]] = defaultdict(list)
    for transition in sorted(transitions, key=lambda t: t.at):
        by_referral[transition.referral_id].append(transition)
    days_to_triage: list[float] = []
    decisions = {"accept": 0, "decline": 0}
    withdrawn_untriaged = 0
    waits: dict[str, list[float]] = defaultdict(list)
    for referral in referrals:
        history = by_referral.get(referral.id, [])
        decision = next((t for t in history if t.action in (Action.ACCEPT, Action.DECLINE)), None)
        if decision is not None:
            decisions[decision.action.value] += 1
            days_to_triage.append(_days(decision.at - referral.received_at))
        elif any(t.action is Action.WITHDRAW and t.from_status is Status.RECEIVED for t in history):
            withdrawn_untriaged += 1
        waiting_since: datetime | None = None
        for transition in history:
            if transition.to_status is Status.ACCEPTED:
                waiting_since = transition.at
            elif transition.action is Action.MATCH and waiting_since is not None:
                waits[referral.source].append(_days(transition.at - waiting_since))
                waiting_since = None
    decided = decisions["accept"] + decisions["decline"]
    all_waits = [w for source_waits in waits.values() for w in source_waits]
    return SiteFigures(
        received=len(referrals),
        accepted=decisions["accept"],
        declined=decisions["decline"],
        withdrawn_before_triage=withdrawn_untriaged,
        acceptance_rate=round(decisions["accept"] / decided, 3) if decided else None,
        median_days_to_triage=_median(days_to_triage),
        awaiting_triage=sum(1 for r in referrals if r.status is Status.RECEIVED),
        triage_overdue=sum(1 for r in referrals if triage_overdue(r, now)),
        matched=len(all_waits),
        wait_for_a_mentor=_wait(all_waits),
        wait_by_source={source: _wait(values) for source, values in sorted(waits.items())},
        disengaged=sum(1 for r in referrals if r.outcome == "disengaged"),
        consent_reviews_due=sum(1 for r in referrals if consent_review_due(r, today)),
    )


def consent_review_due(referral: Referral, today: date) -> bool:
    """Referred at 16 or 17, now 18, still with us: their consent is to be asked for again."""
    return referral.is_open and referral.consent.review_on is not None and referral.consent.review_on <= today


def _days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


def _median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _wait(values: Sequence[float]) -> Wait:
    if not values:
        return Wait(0, None, None)
    ordered = sorted(values)
    # Nearest-rank 90th percentile: a figure a person can check by counting.
    p90 = ordered[max(0, -(-9 * len(ordered) // 10) - 1)]
    return Wait(len(values), _median(values), round(p90, 1))
