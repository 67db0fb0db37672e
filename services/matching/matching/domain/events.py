"""The data of each event matching emits: pseudonymous on ``peerlink.events`` (ids, codes,
counts, scores), the mentor's contact details only on ``peerlink.private``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from matching.domain.matches import Match
from matching.domain.mentors import Mentor


def mentor_profile(mentor: Mentor) -> dict[str, Any]:
    return {
        "mentor_id": mentor.id,
        "kind": mentor.kind,
        "languages": list(mentor.languages),
        "lived_experience": list(mentor.lived_experience),
        "skills": list(mentor.skills),
        "interests": list(mentor.interests),
        "availability": list(mentor.availability),
        "capacity": mentor.capacity,
        "person_id": mentor.person_id,
    }


def mentor_registered(mentor: Mentor) -> dict[str, Any]:
    return {**mentor_profile(mentor), "registered_at": mentor.registered_at}


def mentor_updated(mentor: Mentor, at: datetime) -> dict[str, Any]:
    return {**mentor_profile(mentor), "updated_at": at}


def mentor_contact(mentor: Mentor) -> dict[str, Any]:
    contact = mentor.contact
    return {
        "mentor_id": mentor.id,
        "given_name": contact.given_name,
        "family_name": contact.family_name,
        "email": contact.email,
        "phone": contact.phone,
        "preferred_language": contact.preferred_language,
        "channels": list(contact.channels),
        "safe_to_text": contact.safe_to_text,
    }


def mentor_paused(mentor: Mentor, requeued: int) -> dict[str, Any]:
    return {
        "mentor_id": mentor.id,
        "reason": mentor.status_reason,
        "paused_at": mentor.status_since,
        "mentees_requeued": requeued,
    }


def mentor_resumed(mentor: Mentor) -> dict[str, Any]:
    return {"mentor_id": mentor.id, "resumed_at": mentor.status_since}


def mentor_left(mentor: Mentor, requeued: int) -> dict[str, Any]:
    return {
        "mentor_id": mentor.id,
        "reason": mentor.status_reason,
        "left_at": mentor.status_since,
        "mentees_requeued": requeued,
    }


def _ids(match: Match) -> dict[str, Any]:
    return {
        "match_id": match.id,
        "referral_id": match.referral_id,
        "person_id": match.person_id,
        "mentor_id": match.mentor_id,
    }


def match_proposed(match: Match) -> dict[str, Any]:
    return {
        **_ids(match),
        "method": match.method,
        "score": round(match.score, 6),
        "run_id": match.run_id,
        "proposed_at": match.proposed_at,
    }


def match_confirmed(match: Match) -> dict[str, Any]:
    return {**_ids(match), "confirmed_at": match.confirmed_at}


def match_declined(match: Match) -> dict[str, Any]:
    return {
        **_ids(match),
        "declined_by": match.declined_by,
        "reason": match.decline_reason,
        "declined_at": match.declined_at,
    }


def match_cancelled(match: Match) -> dict[str, Any]:
    return {**_ids(match), "reason": match.cancel_reason, "cancelled_at": match.cancelled_at}


def match_ended(match: Match) -> dict[str, Any]:
    return {
        **_ids(match),
        "reason": match.end_reason,
        "ended_at": match.ended_at,
        "never_pair_again": match.never_pair_again,
    }
