"""Matching's own tables, and the translation between rows and domain objects."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from matching.domain.feedback import Feedback
from matching.domain.matches import LIVE, Match, MatchStatus
from matching.domain.mentors import Contact, Mentor, MentorStatus, Safeguarding
from matching.domain.policy import Policy
from matching.domain.requests import MatchRequest, RequestStatus
from matching.domain.scoring import Conflict, Load
from peerlink.audit import audit_table
from peerlink.db import UTCDateTime, new_metadata

metadata = new_metadata()

# Who read or changed a mentor's record (ids and staff only: peerlink.audit).
audit_log = audit_table(metadata)

mentors = sa.Table(
    "mentors",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("site", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("status_reason", sa.String(40)),
    sa.Column("status_since", UTCDateTime()),
    # Contact details: site-local, never on peerlink.events.
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("family_name", sa.String(100)),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32)),
    sa.Column("contact_language", sa.String(2)),
    sa.Column("contact_channels", sa.JSON, nullable=False),
    sa.Column("safe_to_text", sa.Boolean, nullable=False),
    sa.Column("gender", sa.String(20)),
    sa.Column("languages", sa.JSON, nullable=False),
    sa.Column("lived_experience", sa.JSON, nullable=False),
    sa.Column("skills", sa.JSON, nullable=False),
    sa.Column("interests", sa.JSON, nullable=False),
    sa.Column("availability", sa.JSON, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("dbs_checked_on", sa.Date),
    sa.Column("dbs_expires_on", sa.Date),
    sa.Column("training_completed_on", sa.Date),
    sa.Column("last_supervision_on", sa.Date),
    sa.Column("stable_since", sa.Date),
    sa.Column("person_id", sa.Uuid, index=True),
    sa.Column("former_participant", sa.Boolean, nullable=False),
    sa.Column("registered_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime()),
    # A client's Idempotency-Key: the same key again returns this mentor, never a second one.
    sa.Column("idempotency_key", sa.String(100), unique=True),
    sa.Column("request_fingerprint", sa.String(64)),
)

requests = sa.Table(
    "match_requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # the referral's id
    sa.Column("person_id", sa.Uuid, nullable=False, index=True),
    sa.Column("site", sa.String(40), nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("support_needs", sa.JSON, nullable=False),
    sa.Column("interests", sa.JSON, nullable=False),
    sa.Column("availability", sa.JSON, nullable=False),
    sa.Column("preferred_language", sa.String(2), nullable=False),
    sa.Column("mentor_gender", sa.String(20), nullable=False),
    sa.Column("welsh_speaking_mentor", sa.Boolean, nullable=False),
    sa.Column("priority", sa.Boolean, nullable=False),
    sa.Column("reentry", sa.Boolean, nullable=False),
    sa.Column("accepted_at", UTCDateTime(), nullable=False),
    sa.Column("waiting_since", UTCDateTime(), nullable=False),
    sa.Column("requeued_from_mentor", sa.Uuid),
    sa.Column("rematch_due", sa.Boolean, nullable=False),
    sa.Column("current_match_id", sa.Uuid),
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("erased_at", UTCDateTime()),
    # False: the referral's consent keeps its matches' events at the site (peerlink.site-only).
    # Not personal (it says where events go) and kept after erasure, as the ids are.
    sa.Column("counted_in_figures", sa.Boolean, nullable=False, server_default=sa.true()),
)

_LIVE_MATCH = sa.text("status IN ('proposed', 'confirmed')")

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("request_id", sa.Uuid, sa.ForeignKey("match_requests.id"), nullable=False, index=True),
    sa.Column("person_id", sa.Uuid, nullable=False, index=True),
    sa.Column("mentor_id", sa.Uuid, sa.ForeignKey("mentors.id"), nullable=False, index=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("run_id", sa.Uuid),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("breakdown", sa.JSON, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("proposed_at", UTCDateTime(), nullable=False),
    sa.Column("proposed_by", sa.String(100), nullable=False),
    sa.Column("confirmed_at", UTCDateTime()),
    sa.Column("confirmed_by", sa.String(100)),
    sa.Column("declined_at", UTCDateTime()),
    sa.Column("declined_by", sa.String(20)),
    sa.Column("decline_reason", sa.String(40)),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.Column("cancel_reason", sa.String(40)),
    sa.Column("ended_at", UTCDateTime()),
    sa.Column("ended_by", sa.String(100)),
    sa.Column("end_reason", sa.String(40)),
    sa.Column("never_pair_again", sa.Boolean, nullable=False),
    sa.Column("idempotency_key", sa.String(100), unique=True),
    sa.Column("request_fingerprint", sa.String(64)),
    # One live match (proposed or confirmed) per request, whoever races whom.
    sa.Index(
        "uq_matches_live_request", "request_id", unique=True, sqlite_where=_LIVE_MATCH, postgresql_where=_LIVE_MATCH
    ),
)

do_not_match = sa.Table(
    "do_not_match",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, nullable=False, index=True),
    sa.Column("mentor_id", sa.Uuid, sa.ForeignKey("mentors.id"), nullable=False, index=True),
    sa.Column("declared_by", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("since", sa.Date, nullable=False),
    sa.Column("recorded_by", sa.String(100), nullable=False),
    sa.Column("match_id", sa.Uuid),
    sa.UniqueConstraint("person_id", "mentor_id", "declared_by"),
)

feedback = sa.Table(
    "match_feedback",
    metadata,
    sa.Column("match_id", sa.Uuid, sa.ForeignKey("matches.id"), primary_key=True),
    sa.Column("side", sa.String(10), primary_key=True),
    sa.Column("helped", sa.String(12), nullable=False),
    sa.Column("would_match_again", sa.Boolean, nullable=False),
    sa.Column("ended_because", sa.String(40)),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("recorded_by", sa.String(100), nullable=False),
)

runs = sa.Table(
    "matching_runs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("hold_back", sa.Integer, nullable=False),
    sa.Column("held_back", sa.Integer, nullable=False),
    sa.Column("requests_considered", sa.Integer, nullable=False),
    sa.Column("mentors_considered", sa.Integer, nullable=False),
    sa.Column("total_score", sa.Float, nullable=False),
    sa.Column("greedy_score", sa.Float, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("weights", sa.JSON, nullable=False),
    sa.Column("published_at", UTCDateTime()),
    sa.Column("published_by", sa.String(100)),
    sa.Column("discarded_at", UTCDateTime()),
    sa.Column("idempotency_key", sa.String(100), unique=True),
    sa.Column("request_fingerprint", sa.String(64)),
)

run_proposals = sa.Table(
    "run_proposals",
    metadata,
    sa.Column("run_id", sa.Uuid, sa.ForeignKey("matching_runs.id"), primary_key=True),
    sa.Column("request_id", sa.Uuid, primary_key=True),
    sa.Column("mentor_id", sa.Uuid, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("breakdown", sa.JSON, nullable=False),
    sa.Column("outcome", sa.String(12)),  # proposed | confirmed | left-out | skipped, once published
    sa.Column("match_id", sa.Uuid),
    sa.Column("skip_reasons", sa.JSON),
)

run_unmatched = sa.Table(
    "run_unmatched",
    metadata,
    sa.Column("run_id", sa.Uuid, sa.ForeignKey("matching_runs.id"), primary_key=True),
    sa.Column("request_id", sa.Uuid, primary_key=True),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
)

policies = sa.Table(
    "matching_policies",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("weights", sa.JSON, nullable=False),
    sa.Column("gender_preference", sa.String(10), nullable=False),
    sa.Column("stability_months", sa.Integer, nullable=False),
    sa.Column("supervision_days", sa.Integer, nullable=False),
    sa.Column("dbs_warning_days", sa.Integer, nullable=False),
    sa.Column("waiting_days_full", sa.Integer, nullable=False),
    sa.Column("set_at", UTCDateTime(), nullable=False),
    sa.Column("set_by", sa.String(100), nullable=False),
)


# Mentors ---------------------------------------------------------------------------------------


def add_mentor(conn: Connection, mentor: Mentor, *, idempotency: tuple[str, str] | None = None) -> None:
    key, fingerprint = idempotency or (None, None)
    conn.execute(
        mentors.insert().values(
            **_mentor_values(mentor),
            id=mentor.id,
            site=mentor.site,
            registered_at=mentor.registered_at,
            idempotency_key=key,
            request_fingerprint=fingerprint,
        )
    )


def save_mentor(conn: Connection, mentor: Mentor) -> None:
    conn.execute(mentors.update().where(mentors.c.id == mentor.id).values(**_mentor_values(mentor)))


def _mentor_values(mentor: Mentor) -> dict[str, Any]:
    contact, record = mentor.contact, mentor.safeguarding
    return {
        "kind": mentor.kind,
        "status": mentor.status.value,
        "status_reason": mentor.status_reason,
        "status_since": mentor.status_since,
        "given_name": contact.given_name,
        "family_name": contact.family_name,
        "email": contact.email,
        "phone": contact.phone,
        "contact_language": contact.preferred_language,
        "contact_channels": list(contact.channels),
        "safe_to_text": contact.safe_to_text,
        "gender": mentor.gender,
        "languages": list(mentor.languages),
        "lived_experience": list(mentor.lived_experience),
        "skills": list(mentor.skills),
        "interests": list(mentor.interests),
        "availability": list(mentor.availability),
        "capacity": mentor.capacity,
        "dbs_checked_on": record.dbs_checked_on,
        "dbs_expires_on": record.dbs_expires_on,
        "training_completed_on": record.training_completed_on,
        "last_supervision_on": record.last_supervision_on,
        "stable_since": record.stable_since,
        "person_id": mentor.person_id,
        "former_participant": mentor.former_participant,
        "updated_at": mentor.updated_at,
    }


def _mentor(row: Any) -> Mentor:
    return Mentor(
        id=row.id,
        site=row.site,
        kind=row.kind,
        contact=Contact(
            given_name=row.given_name,
            family_name=row.family_name,
            email=row.email,
            phone=row.phone,
            preferred_language=row.contact_language,
            channels=tuple(row.contact_channels),
            safe_to_text=row.safe_to_text,
        ),
        languages=tuple(row.languages),
        lived_experience=tuple(row.lived_experience),
        skills=tuple(row.skills),
        interests=tuple(row.interests),
        availability=tuple(row.availability),
        capacity=row.capacity,
        registered_at=row.registered_at,
        safeguarding=Safeguarding(
            dbs_checked_on=row.dbs_checked_on,
            dbs_expires_on=row.dbs_expires_on,
            training_completed_on=row.training_completed_on,
            last_supervision_on=row.last_supervision_on,
            stable_since=row.stable_since,
        ),
        gender=row.gender,
        person_id=row.person_id,
        former_participant=row.former_participant,
        status=MentorStatus(row.status),
        status_reason=row.status_reason,
        status_since=row.status_since,
        updated_at=row.updated_at,
    )


def get_mentor(conn: Connection, mentor_id: uuid.UUID, *, for_update: bool = False) -> Mentor | None:
    query = sa.select(mentors).where(mentors.c.id == mentor_id)
    if for_update:
        query = query.with_for_update()  # one writer a mentor: their places cannot be over-filled
    row = conn.execute(query).one_or_none()
    return _mentor(row) if row else None


def lock_mentors(conn: Connection, mentor_ids: Iterable[uuid.UUID]) -> None:
    """Take the mentors' row locks in one order, so that two writers never deadlock."""
    ids = sorted(set(mentor_ids))
    if ids and conn.dialect.name == "postgresql":
        conn.execute(sa.select(mentors.c.id).where(mentors.c.id.in_(ids)).order_by(mentors.c.id).with_for_update())


def mentor_for_key(conn: Connection, key: str) -> tuple[Mentor, str] | None:
    row = conn.execute(sa.select(mentors).where(mentors.c.idempotency_key == key)).one_or_none()
    return (_mentor(row), row.request_fingerprint) if row else None


def list_mentors(conn: Connection, *, statuses: Sequence[str] | None = None, kind: str | None = None) -> list[Mentor]:
    query = sa.select(mentors).order_by(mentors.c.registered_at, mentors.c.id)
    if statuses:
        query = query.where(mentors.c.status.in_(list(statuses)))
    if kind:
        query = query.where(mentors.c.kind == kind)
    return [_mentor(row) for row in conn.execute(query)]


def mentors_linked_to(conn: Connection, person_id: uuid.UUID) -> list[Mentor]:
    return [_mentor(row) for row in conn.execute(sa.select(mentors).where(mentors.c.person_id == person_id))]


# Requests --------------------------------------------------------------------------------------


def add_request(conn: Connection, request: MatchRequest) -> None:
    conn.execute(requests.insert().values(**_request_values(request), id=request.id))


def save_request(conn: Connection, request: MatchRequest) -> None:
    conn.execute(requests.update().where(requests.c.id == request.id).values(**_request_values(request)))


def _request_values(request: MatchRequest) -> dict[str, Any]:
    return {
        "person_id": request.person_id,
        "site": request.site,
        "status": request.status.value,
        "support_needs": list(request.support_needs),
        "interests": list(request.interests),
        "availability": list(request.availability),
        "preferred_language": request.preferred_language,
        "mentor_gender": request.mentor_gender,
        "welsh_speaking_mentor": request.welsh_speaking_mentor,
        "priority": request.priority,
        "reentry": request.reentry,
        "accepted_at": request.accepted_at,
        "waiting_since": request.waiting_since,
        "requeued_from_mentor": request.requeued_from_mentor,
        "rematch_due": request.rematch_due,
        "current_match_id": request.current_match_id,
        "updated_at": request.updated_at,
        "counted_in_figures": request.counted_in_figures,
    }


def _request(row: Any) -> MatchRequest:
    return MatchRequest(
        id=row.id,
        person_id=row.person_id,
        site=row.site,
        status=RequestStatus(row.status),
        support_needs=tuple(row.support_needs),
        interests=tuple(row.interests),
        availability=tuple(row.availability),
        preferred_language=row.preferred_language,
        mentor_gender=row.mentor_gender,
        welsh_speaking_mentor=row.welsh_speaking_mentor,
        priority=row.priority,
        reentry=row.reentry,
        accepted_at=row.accepted_at,
        waiting_since=row.waiting_since,
        requeued_from_mentor=row.requeued_from_mentor,
        rematch_due=row.rematch_due,
        current_match_id=row.current_match_id,
        updated_at=row.updated_at,
        counted_in_figures=row.counted_in_figures,
    )


def get_request(conn: Connection, request_id: uuid.UUID, *, for_update: bool = False) -> MatchRequest | None:
    query = sa.select(requests).where(requests.c.id == request_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return _request(row) if row else None


def list_requests(
    conn: Connection,
    *,
    statuses: Sequence[str] | None = None,
    ids: Sequence[uuid.UUID] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[MatchRequest], int]:
    """Urgent first (a priority referral, or back after their mentor paused or left), then longest waiting."""
    conditions: list[Any] = []
    if statuses:
        conditions.append(requests.c.status.in_(list(statuses)))
    if ids is not None:
        conditions.append(requests.c.id.in_(list(ids)))
    urgent = sa.or_(requests.c.priority, requests.c.requeued_from_mentor.is_not(None))
    query = (
        sa.select(requests)
        .where(*conditions)
        .order_by(sa.case((urgent, 0), else_=1), requests.c.waiting_since, requests.c.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    total = conn.execute(sa.select(sa.func.count()).select_from(requests).where(*conditions)).scalar_one()
    return [_request(row) for row in conn.execute(query)], int(total)


def requests_of_person(conn: Connection, person_id: uuid.UUID) -> list[MatchRequest]:
    rows = conn.execute(sa.select(requests).where(requests.c.person_id == person_id).with_for_update())
    return [_request(row) for row in rows]


def requests_due_rematch(conn: Connection, mentor_id: uuid.UUID) -> list[MatchRequest]:
    rows = conn.execute(
        sa.select(requests)
        .where(requests.c.rematch_due, requests.c.requeued_from_mentor == mentor_id)
        .order_by(requests.c.waiting_since, requests.c.id)
        .with_for_update()
    )
    return [_request(row) for row in rows]


def erase_request(conn: Connection, request: MatchRequest, at: datetime) -> None:
    """What the person needed and liked goes; the id (pseudonymous) and its status stay."""
    conn.execute(
        requests.update()
        .where(requests.c.id == request.id)
        .values(
            status=RequestStatus.ERASED.value,
            support_needs=[],
            interests=[],
            availability=[],
            mentor_gender="no-preference",
            welsh_speaking_mentor=False,
            rematch_due=False,
            requeued_from_mentor=None,
            current_match_id=None,
            updated_at=at,
            erased_at=at,
        )
    )
    conn.execute(run_unmatched.delete().where(run_unmatched.c.request_id == request.id))
    drafts = sa.select(runs.c.id).where(runs.c.status == "draft").scalar_subquery()
    conn.execute(
        run_proposals.delete().where(run_proposals.c.request_id == request.id, run_proposals.c.run_id.in_(drafts))
    )


def clear_profile(conn: Connection, request: MatchRequest) -> None:
    """A withdrawn or closed referral's needs are no longer matching's to keep."""
    conn.execute(
        requests.update()
        .where(requests.c.id == request.id)
        .values(support_needs=[], interests=[], availability=[], rematch_due=False)
    )


# Matches ---------------------------------------------------------------------------------------


def add_match(conn: Connection, match: Match, *, idempotency: tuple[str, str] | None = None) -> None:
    key, fingerprint = idempotency or (None, None)
    conn.execute(
        matches.insert().values(
            **_match_values(match),
            id=match.id,
            request_id=match.request_id,
            person_id=match.person_id,
            mentor_id=match.mentor_id,
            method=match.method,
            run_id=match.run_id,
            score=match.score,
            breakdown=match.breakdown,
            proposed_at=match.proposed_at,
            proposed_by=match.proposed_by,
            idempotency_key=key,
            request_fingerprint=fingerprint,
        )
    )


def save_match(conn: Connection, match: Match) -> None:
    conn.execute(matches.update().where(matches.c.id == match.id).values(**_match_values(match)))


def _match_values(match: Match) -> dict[str, Any]:
    return {
        "status": match.status.value,
        "confirmed_at": match.confirmed_at,
        "confirmed_by": match.confirmed_by,
        "declined_at": match.declined_at,
        "declined_by": match.declined_by,
        "decline_reason": match.decline_reason,
        "cancelled_at": match.cancelled_at,
        "cancel_reason": match.cancel_reason,
        "ended_at": match.ended_at,
        "ended_by": match.ended_by,
        "end_reason": match.end_reason,
        "never_pair_again": match.never_pair_again,
    }


def _match(row: Any) -> Match:
    return Match(
        id=row.id,
        request_id=row.request_id,
        person_id=row.person_id,
        mentor_id=row.mentor_id,
        method=row.method,
        run_id=row.run_id,
        score=row.score,
        breakdown=dict(row.breakdown),
        status=MatchStatus(row.status),
        proposed_at=row.proposed_at,
        proposed_by=row.proposed_by,
        confirmed_at=row.confirmed_at,
        confirmed_by=row.confirmed_by,
        declined_at=row.declined_at,
        declined_by=row.declined_by,
        decline_reason=row.decline_reason,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        end_reason=row.end_reason,
        never_pair_again=row.never_pair_again,
    )


def get_match(conn: Connection, match_id: uuid.UUID, *, for_update: bool = False) -> Match | None:
    query = sa.select(matches).where(matches.c.id == match_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return _match(row) if row else None


def match_for_key(conn: Connection, key: str) -> tuple[Match, str] | None:
    row = conn.execute(sa.select(matches).where(matches.c.idempotency_key == key)).one_or_none()
    return (_match(row), row.request_fingerprint) if row else None


@dataclass(frozen=True)
class MatchFilter:
    status: str | None = None
    mentor_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    limit: int = 50
    offset: int = 0


def list_matches(conn: Connection, query: MatchFilter) -> tuple[list[Match], int]:
    conditions: list[Any] = []
    for column, value in (
        (matches.c.status, query.status),
        (matches.c.mentor_id, query.mentor_id),
        (matches.c.request_id, query.request_id),
        (matches.c.run_id, query.run_id),
    ):
        if value is not None:
            conditions.append(column == value)
    rows = conn.execute(
        sa.select(matches)
        .where(*conditions)
        .order_by(matches.c.proposed_at.desc(), matches.c.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(matches).where(*conditions)).scalar_one()
    return [_match(row) for row in rows], int(total)


def live_matches_of_mentor(conn: Connection, mentor_id: uuid.UUID) -> list[Match]:
    rows = conn.execute(
        sa.select(matches)
        .where(matches.c.mentor_id == mentor_id, matches.c.status.in_([s.value for s in LIVE]))
        .order_by(matches.c.proposed_at, matches.c.id)
    )
    return [_match(row) for row in rows]


def loads(conn: Connection, mentor_ids: Sequence[uuid.UUID] | None = None) -> dict[uuid.UUID, Load]:
    """Each mentor's confirmed and proposed (pending) mentees."""
    query = (
        sa.select(matches.c.mentor_id, matches.c.status, sa.func.count())
        .where(matches.c.status.in_([s.value for s in LIVE]))
        .group_by(matches.c.mentor_id, matches.c.status)
    )
    if mentor_ids is not None:
        query = query.where(matches.c.mentor_id.in_(list(mentor_ids)))
    found: dict[uuid.UUID, dict[str, int]] = {}
    for mentor_id, status, count in conn.execute(query):
        found.setdefault(mentor_id, {})[status] = int(count)
    return {k: Load(confirmed=v.get("confirmed", 0), proposed=v.get("proposed", 0)) for k, v in found.items()}


def declined_pairs(
    conn: Connection, request_ids: Sequence[uuid.UUID] | None = None
) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[date, str]]:
    """Pairings that did not go ahead: declined proposals, matches ended as not a fit."""
    query = sa.select(
        matches.c.request_id,
        matches.c.mentor_id,
        matches.c.status,
        matches.c.decline_reason,
        matches.c.declined_at,
        matches.c.ended_at,
    ).where(
        sa.or_(
            matches.c.status == MatchStatus.DECLINED.value,
            sa.and_(matches.c.status == MatchStatus.ENDED.value, matches.c.end_reason == "not-a-fit"),
        )
    )
    if request_ids is not None:
        query = query.where(matches.c.request_id.in_(list(request_ids)))
    found = {}
    for row in conn.execute(query):
        if row.status == MatchStatus.DECLINED.value:
            found[(row.request_id, row.mentor_id)] = (row.declined_at.date(), f"declined: {row.decline_reason}")
        else:
            found[(row.request_id, row.mentor_id)] = (row.ended_at.date(), "ended: not a fit")
    return found


# Do-not-match ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoNotMatch:
    id: uuid.UUID
    person_id: uuid.UUID
    mentor_id: uuid.UUID
    declared_by: str
    reason: str
    since: date
    recorded_by: str
    match_id: uuid.UUID | None = None


def _do_not_match(row: Any) -> DoNotMatch:
    return DoNotMatch(
        row.id, row.person_id, row.mentor_id, row.declared_by, row.reason, row.since, row.recorded_by, row.match_id
    )


def declared_do_not_match(
    conn: Connection, person_id: uuid.UUID, mentor_id: uuid.UUID, declared_by: str
) -> DoNotMatch | None:
    """This side's declaration about this pair, if it made one (there is one at most)."""
    row = conn.execute(
        sa.select(do_not_match).where(
            do_not_match.c.person_id == person_id,
            do_not_match.c.mentor_id == mentor_id,
            do_not_match.c.declared_by == declared_by,
        )
    ).first()
    return None if row is None else _do_not_match(row)


def add_do_not_match(conn: Connection, entry: DoNotMatch) -> DoNotMatch:
    """The entry kept for this side and pair: ``entry``, added; or the one it declared before."""
    first = declared_do_not_match(conn, entry.person_id, entry.mentor_id, entry.declared_by)
    if first is not None:
        return first
    conn.execute(do_not_match.insert().values(**entry.__dict__))
    return entry


def remove_do_not_match(conn: Connection, person_id: uuid.UUID, mentor_id: uuid.UUID, declared_by: str) -> int:
    result = conn.execute(
        do_not_match.delete().where(
            do_not_match.c.person_id == person_id,
            do_not_match.c.mentor_id == mentor_id,
            do_not_match.c.declared_by == declared_by,
        )
    )
    return int(result.rowcount)


def do_not_match_list(
    conn: Connection, *, person_id: uuid.UUID | None = None, mentor_id: uuid.UUID | None = None
) -> list[DoNotMatch]:
    query = sa.select(do_not_match).order_by(do_not_match.c.since, do_not_match.c.id)
    if person_id is not None:
        query = query.where(do_not_match.c.person_id == person_id)
    if mentor_id is not None:
        query = query.where(do_not_match.c.mentor_id == mentor_id)
    return [_do_not_match(row) for row in conn.execute(query)]


def conflicts(
    conn: Connection, person_ids: Sequence[uuid.UUID] | None = None
) -> dict[tuple[uuid.UUID, uuid.UUID], list[Conflict]]:
    query = sa.select(
        do_not_match.c.person_id, do_not_match.c.mentor_id, do_not_match.c.declared_by, do_not_match.c.since
    )
    if person_ids is not None:
        query = query.where(do_not_match.c.person_id.in_(list(person_ids)))
    found: dict[tuple[uuid.UUID, uuid.UUID], list[Conflict]] = {}
    for row in conn.execute(query):
        found.setdefault((row.person_id, row.mentor_id), []).append(Conflict(row.declared_by, row.since))
    return found


def forget_person(conn: Connection, person_id: uuid.UUID) -> None:
    """Erasure: their do-not-match entries go, and any mentor's link to them as a former participant."""
    conn.execute(do_not_match.delete().where(do_not_match.c.person_id == person_id))
    conn.execute(mentors.update().where(mentors.c.person_id == person_id).values(person_id=None))


# Feedback --------------------------------------------------------------------------------------


def put_feedback(conn: Connection, item: Feedback) -> None:
    conn.execute(feedback.delete().where(feedback.c.match_id == item.match_id, feedback.c.side == item.side))
    conn.execute(
        feedback.insert().values(
            match_id=item.match_id,
            side=item.side,
            helped=item.helped,
            would_match_again=item.would_match_again,
            ended_because=item.ended_because,
            recorded_at=item.recorded_at,
            recorded_by=item.recorded_by,
        )
    )


def feedback_of(conn: Connection, match_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Feedback]]:
    found: dict[uuid.UUID, list[Feedback]] = {}
    rows = conn.execute(sa.select(feedback).where(feedback.c.match_id.in_(list(match_ids))).order_by(feedback.c.side))
    for row in rows:
        found.setdefault(row.match_id, []).append(
            Feedback(
                row.match_id,
                row.side,
                row.helped,
                row.would_match_again,
                row.ended_because,
                row.recorded_at,
                row.recorded_by,
            )
        )
    return found


def ended_matches_with_feedback(conn: Connection) -> list[tuple[Match, list[Feedback]]]:
    ids = sa.select(feedback.c.match_id).distinct().scalar_subquery()
    rows = conn.execute(sa.select(matches).where(matches.c.id.in_(ids), matches.c.status == "ended"))
    found = [_match(row) for row in rows]
    answers = feedback_of(conn, [m.id for m in found])
    return [(m, answers.get(m.id, [])) for m in found]


# Runs ------------------------------------------------------------------------------------------


def add_run(
    conn: Connection, run: dict[str, Any], proposals: list[dict[str, Any]], unmatched: list[dict[str, Any]]
) -> None:
    conn.execute(runs.insert().values(**run))
    if proposals:
        conn.execute(run_proposals.insert(), [{"run_id": run["id"], **p} for p in proposals])
    if unmatched:
        conn.execute(run_unmatched.insert(), [{"run_id": run["id"], **u} for u in unmatched])


def get_run(conn: Connection, run_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    query = sa.select(runs).where(runs.c.id == run_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return dict(row._mapping) if row else None


def run_for_key(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(runs).where(runs.c.idempotency_key == key)).one_or_none()
    return dict(row._mapping) if row else None


def list_runs(conn: Connection, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    rows = conn.execute(sa.select(runs).order_by(runs.c.created_at.desc(), runs.c.id).limit(limit).offset(offset))
    total = conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()
    return [dict(row._mapping) for row in rows], int(total)


def save_run(conn: Connection, run_id: uuid.UUID, **values: Any) -> None:
    conn.execute(runs.update().where(runs.c.id == run_id).values(**values))


def run_details(conn: Connection, run_id: uuid.UUID) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    proposals = conn.execute(
        sa.select(run_proposals).where(run_proposals.c.run_id == run_id).order_by(run_proposals.c.score.desc())
    )
    unmatched = conn.execute(
        sa.select(run_unmatched)
        .where(run_unmatched.c.run_id == run_id)
        .order_by(run_unmatched.c.urgent.desc(), run_unmatched.c.request_id)
    )
    return [dict(r._mapping) for r in proposals], [dict(r._mapping) for r in unmatched]


def save_run_proposal(conn: Connection, run_id: uuid.UUID, request_id: uuid.UUID, **values: Any) -> None:
    conn.execute(
        run_proposals.update()
        .where(run_proposals.c.run_id == run_id, run_proposals.c.request_id == request_id)
        .values(**values)
    )


# Policy ----------------------------------------------------------------------------------------


def current_policy(conn: Connection) -> tuple[Policy, dict[str, Any] | None]:
    """The site's policy and who set it when (None: the defaults, never changed)."""
    row = conn.execute(sa.select(policies).order_by(policies.c.version.desc()).limit(1)).one_or_none()
    if row is None:
        return Policy(), None
    policy = Policy(
        weights=dict(row.weights),
        gender_preference=row.gender_preference,
        stability_months=row.stability_months,
        supervision_days=row.supervision_days,
        dbs_warning_days=row.dbs_warning_days,
        waiting_days_full=row.waiting_days_full,
    )
    return policy, {"version": row.version, "set_at": row.set_at, "set_by": row.set_by}


def add_policy(conn: Connection, policy: Policy, *, at: datetime, actor: str) -> int:
    result = conn.execute(
        policies.insert().values(
            weights=dict(policy.weights),
            gender_preference=policy.gender_preference,
            stability_months=policy.stability_months,
            supervision_days=policy.supervision_days,
            dbs_warning_days=policy.dbs_warning_days,
            waiting_days_full=policy.waiting_days_full,
            set_at=at,
            set_by=actor,
        )
    )
    return int(result.inserted_primary_key[0])
