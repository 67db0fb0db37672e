"""Domain objects as the API shows them, according to who asks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from peerlink.web import Principal
from referrals.domain.advocacy import AdvocacyIssue
from referrals.domain.duplicates import PossibleDuplicate
from referrals.domain.intake import Person
from referrals.domain.outcomes import CheckIn
from referrals.domain.workflow import Referral, allowed_actions

RISK_READERS = frozenset({"coordinator"})


def referral(item: Referral, principal: Principal) -> dict[str, Any]:
    view = asdict(item)
    view["status"] = item.status.value
    view["allowed_actions"] = [a.value for a in allowed_actions(item.status, duplicate_pending=item.duplicate_pending)]
    if principal.role not in RISK_READERS:
        view.pop("risk_flags")
        view.pop("risk_note")
    return view


def possible_duplicate(item: PossibleDuplicate) -> dict[str, Any]:
    view = asdict(item)
    view["status"] = item.resolution.value if item.resolution else "pending"
    view.pop("resolution")
    return view


def person(item: Person) -> dict[str, Any]:
    return asdict(item)


def issue(item: AdvocacyIssue) -> dict[str, Any]:
    return {**asdict(item), "is_open": item.is_open}


def check_in(item: CheckIn, *, maximum: int, baseline: int | None) -> dict[str, Any]:
    return {
        **asdict(item),
        "maximum": maximum,
        "baseline_score": baseline if item.timepoint != "baseline" else None,
        "change": item.score - baseline if baseline is not None and item.timepoint != "baseline" else None,
    }
