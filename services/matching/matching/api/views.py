"""Domain objects as the API shows them, according to who asks."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

from flask_smorest import abort

from matching.domain.feedback import Feedback
from matching.domain.matches import ALLOWED, Match
from matching.domain.mentors import Mentor, safeguarding_alerts
from matching.domain.policy import CRITERION_DESCRIPTIONS, Policy
from matching.domain.requests import MatchRequest
from matching.domain.scoring import Load, Situation, mentor_exclusions
from peerlink.web import Principal, current_principal

CONTACT_READERS = frozenset({"coordinator", "mentor"})


def own_mentor_only(mentor_id: uuid.UUID) -> None:
    """A mentor's token sees only their own record: its label is their mentor id."""
    principal = current_principal()
    if principal.role == "mentor" and principal.label != str(mentor_id):
        abort(403, message="A mentor's token reads only that mentor's own record.")


def mentor(item: Mentor, load: Load, policy: Policy, today: date, principal: Principal) -> dict[str, Any]:
    world = Situation(site=item.site, today=today, policy=policy, loads={item.id: load})
    blocked = [e.reason for e in mentor_exclusions(item, world) if e.code != "no-place"]
    view = {
        **asdict(item),
        "status": item.status.value,
        "confirmed": load.confirmed,
        "proposed": load.proposed,
        "places_left": max(0, item.capacity - load.taken),
        "can_be_matched": not blocked,
        "blocked_because": blocked,
        "alerts": safeguarding_alerts(item, policy, today),
    }
    if principal.role not in CONTACT_READERS:
        view.pop("contact")
    return view


def request(item: MatchRequest, today: date) -> dict[str, Any]:
    return {
        **asdict(item),
        "status": item.status.value,
        "referral_id": item.id,
        "urgent": item.urgent,
        "days_waiting": item.days_waiting(today),
    }


def match(item: Match, answers: list[Feedback] | None = None) -> dict[str, Any]:
    return {
        **asdict(item),
        "status": item.status.value,
        "referral_id": item.request_id,
        "allowed_actions": [a for a in ALLOWED.get(item.status, ()) if a != "cancel"],
        "feedback": [asdict(a) for a in answers or []],
    }


def policy(current: Policy, meta: dict[str, Any] | None) -> dict[str, Any]:
    return {
        **(meta or {"version": None, "set_at": None, "set_by": None}),
        "weights": dict(current.weights),
        "shares": {k: round(v, 6) for k, v in current.normalised.items()},
        "gender_preference": current.gender_preference,
        "stability_months": current.stability_months,
        "supervision_days": current.supervision_days,
        "dbs_warning_days": current.dbs_warning_days,
        "waiting_days_full": current.waiting_days_full,
        "criteria": dict(CRITERION_DESCRIPTIONS),
    }
