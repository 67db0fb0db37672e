"""The data of each event referrals emits: pseudonymous on ``peerlink.events`` (ids, codes,
dates, an age band), personal only on ``peerlink.private``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from referrals.domain.advocacy import AdvocacyIssue
from referrals.domain.duplicates import PossibleDuplicate
from referrals.domain.intake import Person
from referrals.domain.outcomes import CheckIn, Progress, Scale
from referrals.domain.workflow import Referral, Transition


def _ids(referral: Referral) -> dict[str, Any]:
    return {"referral_id": referral.id, "person_id": referral.person_id}


def received(referral: Referral, person: Person) -> dict[str, Any]:
    return {
        **_ids(referral),
        "source": referral.source,
        "support_needs": list(referral.support_needs),
        "age_band": referral.age_band,
        "preferred_language": person.preferred_language,
        "received_at": referral.received_at,
        "counted_in_figures": referral.consent.counted_in_figures,
        "self_referral": referral.self_referral,
        "known_person": referral.known_person,
    }


def person_resolved(referral: Referral, check: PossibleDuplicate) -> dict[str, Any]:
    """Whom a possible duplicate is about, as answered: ids, the answer and what follows from it
    (the consent and age band that now apply), never the details it came with."""
    assert check.resolution is not None and check.resolved_at is not None
    return {
        **_ids(referral),
        "linked_person_id": check.person_id,
        "resolution": check.resolution.value,
        "counted_in_figures": referral.consent.counted_in_figures,
        "age_band": referral.age_band,
        "referral_status": referral.status.value,
        "received_at": referral.received_at,
        "resolved_at": check.resolved_at,
    }


def accepted(referral: Referral, transition: Transition, preferred_language: str) -> dict[str, Any]:
    return {
        **_ids(referral),
        "accepted_at": transition.at,
        "priority": referral.priority,
        "reentry": transition.action == "reopen",
        "support_needs": list(referral.support_needs),
        "interests": list(referral.interests),
        "availability": list(referral.availability),
        "preferred_language": preferred_language,
        "preferences": {
            "mentor_gender": referral.preferences.mentor_gender,
            "welsh_speaking_mentor": referral.preferences.welsh_speaking_mentor,
        },
        # Matching keeps the person's matches at the site too when this is false.
        "counted_in_figures": referral.consent.counted_in_figures,
    }


def declined(referral: Referral, transition: Transition) -> dict[str, Any]:
    return {**_ids(referral), "reason": transition.reason, "declined_at": transition.at}


def withdrawn(referral: Referral, transition: Transition) -> dict[str, Any]:
    return {
        **_ids(referral),
        "reason": transition.reason,
        "from_status": transition.from_status,
        "withdrawn_at": transition.at,
    }


def matched(referral: Referral, transition: Transition) -> dict[str, Any]:
    waited_since = referral.accepted_at or referral.received_at
    return {
        **_ids(referral),
        "match_id": referral.current_match_id,
        "mentor_id": referral.mentor_id,
        "matched_at": transition.at,
        "days_waiting": max(0, (transition.at - waited_since).days),
    }


def activated(referral: Referral, transition: Transition) -> dict[str, Any]:
    return {**_ids(referral), "activated_at": transition.at}


def requeued(referral: Referral, transition: Transition, match_id: Any) -> dict[str, Any]:
    return {**_ids(referral), "match_id": match_id, "reason": transition.reason, "requeued_at": transition.at}


def closed(referral: Referral, transition: Transition) -> dict[str, Any]:
    return {
        **_ids(referral),
        "outcome": transition.reason,
        "closed_at": transition.at,
        "days_open": max(0, (transition.at - referral.received_at).days),
    }


def contact(person: Person) -> dict[str, Any]:
    return {
        "person_id": person.id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "email": person.contact.email,
        "phone": person.contact.phone,
        "preferred_language": person.preferred_language,
        "channels": list(person.contact.channels),
        "safe_to_text": person.contact.safe_to_text,
    }


def advocacy_opened(issue: AdvocacyIssue) -> dict[str, Any]:
    return {
        "issue_id": issue.id,
        "person_id": issue.person_id,
        "category": issue.category,
        "opened_at": issue.opened_at,
    }


def advocacy_resolved(issue: AdvocacyIssue) -> dict[str, Any]:
    assert issue.resolved_at is not None
    return {
        "issue_id": issue.id,
        "person_id": issue.person_id,
        "category": issue.category,
        "resolution": issue.resolution,
        "resolved_at": issue.resolved_at,
        "days_open": max(0, (issue.resolved_at - issue.opened_at).days),
    }


def outcome_recorded(check_in: CheckIn, progress: Progress, scale: Scale) -> dict[str, Any]:
    return {
        "check_in_id": check_in.id,
        "referral_id": check_in.referral_id,
        "person_id": check_in.person_id,
        "scale": scale.id,
        "timepoint": check_in.timepoint,
        "score": check_in.score,
        "maximum": scale.max_score,
        "baseline_score": progress.baseline_score,
        "change": progress.change,
        "weeks_since_baseline": progress.weeks_since_baseline,
        "recorded_at": check_in.recorded_at,
    }


def person_erased(person_id: Any, at: datetime) -> dict[str, Any]:
    return {"person_id": person_id, "erased_at": at}
