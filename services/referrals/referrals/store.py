"""Referrals' own tables, and the translation between rows and domain objects."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from peerlink.audit import audit_table
from peerlink.contracts import PRIVATE_EXCHANGE
from peerlink.db import UTCDateTime, new_metadata
from peerlink.tables import outbox
from referrals.domain import days
from referrals.domain.advocacy import AdvocacyIssue
from referrals.domain.duplicates import PossibleDuplicate, ProposedDetails, Resolution
from referrals.domain.figures import TRIAGE_DUE_WITHIN
from referrals.domain.intake import Consent, ContactDetails, Identity, Person, Preferences
from referrals.domain.outcomes import CheckIn
from referrals.domain.workflow import OPEN, Action, Referral, Status, Transition

metadata = new_metadata()

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("family_name", sa.String(100), nullable=False),
    sa.Column("date_of_birth", sa.Date),
    sa.Column("preferred_language", sa.String(2), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32)),
    sa.Column("contact_channels", sa.JSON, nullable=False),
    sa.Column("safe_to_text", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # Keys for finding someone referred before; cleared on erasure with the rest.
    sa.Column("name_key", sa.String(200)),
    sa.Column("email_key", sa.String(254), index=True),
    sa.Column("phone_key", sa.String(32), index=True),
    sa.Column("erased_at", UTCDateTime()),
    sa.Index("ix_people_name_key_date_of_birth", "name_key", "date_of_birth"),
)

referrals = sa.Table(
    "referrals",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("people.id"), nullable=False, index=True),
    sa.Column("site", sa.String(40), nullable=False),
    sa.Column("source", sa.String(40), nullable=False, index=True),
    sa.Column("support_needs", sa.JSON, nullable=False),
    sa.Column("interests", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("consent_share_with_mentor", sa.Boolean, nullable=False),
    sa.Column("consent_counted_in_figures", sa.Boolean, nullable=False),
    sa.Column("consent_wording_version", sa.String(40), nullable=False),
    sa.Column("consent_given_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("age_band", sa.String(8), nullable=False, server_default="unknown"),
    sa.Column("availability", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("mentor_gender", sa.String(20), nullable=False, server_default="no-preference"),
    sa.Column("welsh_speaking_mentor", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("priority", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("risk_flags", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("risk_note", sa.Text),
    sa.Column("self_referral", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("known_person", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("duplicate_of", sa.Uuid),
    # Linked to someone known and not yet resolved (the details: possible_duplicates).
    sa.Column("duplicate_pending", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    sa.Column("consent_share_with_gp", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("consent_review_on", sa.Date),
    sa.Column("accepted_at", UTCDateTime()),
    sa.Column("matched_at", UTCDateTime()),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("outcome", sa.String(20)),
    sa.Column("current_match_id", sa.Uuid),
    sa.Column("mentor_id", sa.Uuid),
    # A client's Idempotency-Key: the same key again returns this referral, never a second one.
    sa.Column("idempotency_key", sa.String(100), unique=True),
    sa.Column("request_fingerprint", sa.String(64)),
)

transitions = sa.Table(
    "referral_transitions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("referral_id", sa.Uuid, sa.ForeignKey("referrals.id"), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("from_status", sa.String(20), nullable=False),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("reason", sa.String(40)),
    sa.Column("note", sa.Text),
)

advocacy_issues = sa.Table(
    "advocacy_issues",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("people.id"), nullable=False, index=True),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("summary", sa.Text),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("resolution", sa.String(40)),
)

# A referral linked to someone already known: what they share, the details it came with (until
# a coordinator says whether it is the same person), and that answer, who gave it and when.
possible_duplicates = sa.Table(
    "possible_duplicates",
    metadata,
    sa.Column("referral_id", sa.Uuid, sa.ForeignKey("referrals.id"), primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("people.id"), nullable=False, index=True),
    sa.Column("matched_on", sa.JSON, nullable=False),
    sa.Column("flagged_at", UTCDateTime(), nullable=False),
    # The proposed details: personal, so kept only while the question is open.
    sa.Column("given_name", sa.String(100)),
    sa.Column("family_name", sa.String(100)),
    sa.Column("date_of_birth", sa.Date),
    sa.Column("preferred_language", sa.String(2)),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32)),
    sa.Column("contact_channels", sa.JSON),
    sa.Column("safe_to_text", sa.Boolean),
    sa.Column("resolution", sa.String(20)),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("resolved_by", sa.String(100)),
    sa.Column("contact_details_applied", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("new_person_id", sa.Uuid, index=True),
)

# Who read or changed a person's record, and when (kept after erasure: ids and staff, not them).
audit_log = audit_table(metadata)

check_ins = sa.Table(
    "check_ins",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("referral_id", sa.Uuid, sa.ForeignKey("referrals.id"), nullable=False, index=True),
    sa.Column("person_id", sa.Uuid, nullable=False),
    sa.Column("scale_id", sa.String(40), nullable=False),
    sa.Column("timepoint", sa.String(10), nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
)


# People ---------------------------------------------------------------------------------


def add_person(conn: Connection, person: Person, identity: Identity, *, created_at: datetime) -> None:
    conn.execute(people.insert().values(**_person_values(person, identity), id=person.id, created_at=created_at))


def update_person(conn: Connection, person: Person, identity: Identity | None) -> None:
    conn.execute(people.update().where(people.c.id == person.id).values(**_person_values(person, identity)))


def _person_values(person: Person, identity: Identity | None) -> dict[str, Any]:
    return {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth,
        "preferred_language": person.preferred_language,
        "email": person.contact.email,
        "phone": person.contact.phone,
        "contact_channels": list(person.contact.channels),
        "safe_to_text": person.contact.safe_to_text,
        "name_key": identity.name_key if identity else None,
        "email_key": identity.email if identity else None,
        "phone_key": identity.phone if identity else None,
        "erased_at": person.erased_at,
    }


def get_person(conn: Connection, person_id: uuid.UUID, *, for_update: bool = False) -> Person | None:
    query = sa.select(people).where(people.c.id == person_id)
    if for_update:
        query = query.with_for_update()  # serialises writers of one person on PostgreSQL
    row = conn.execute(query).one_or_none()
    return _person(row) if row else None


def languages_of(conn: Connection, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = conn.execute(sa.select(people.c.id, people.c.preferred_language).where(people.c.id.in_(list(person_ids))))
    return {row.id: row.preferred_language for row in rows}


def people_like(conn: Connection, identity: Identity) -> list[Person]:
    """People who may be this one: same name and date of birth, or same email or phone."""
    clauses = [sa.and_(people.c.name_key == identity.name_key, people.c.date_of_birth == identity.date_of_birth)]
    if identity.email:
        clauses.append(people.c.email_key == identity.email)
    if identity.phone:
        clauses.append(people.c.phone_key == identity.phone)
    rows = conn.execute(
        sa.select(people).where(sa.or_(*clauses), people.c.erased_at.is_(None)).order_by(people.c.created_at)
    )
    return [_person(row) for row in rows]


def _person(row: Any) -> Person:
    return Person(
        id=row.id,
        given_name=row.given_name,
        family_name=row.family_name,
        date_of_birth=row.date_of_birth,
        preferred_language=row.preferred_language,
        contact=ContactDetails(row.email, row.phone, tuple(row.contact_channels), row.safe_to_text),
        erased_at=row.erased_at,
    )


def erase_person_data(conn: Connection, person: Person) -> None:
    """Everything personal about the person, beyond the ``people`` row itself.

    Kept: the referrals' codes, dates and statuses, check-in scores, advocacy categories (the
    counts), and the audit trail (ids and staff). Gone: names, contact details, date of birth,
    notes and summaries; the risk flags (safeguarding codes about her, seen by coordinators
    only and counted nowhere, of no use once nobody can reach her); the fingerprint of each
    intake request (a hash of her details, and a replay of it must not bring them back); and
    her messages on the private exchange, sent or not, so that the relay never publishes her
    contact details after this (``person.erased`` tells notifications to forget them)."""
    update_person(conn, person, None)
    conn.execute(advocacy_issues.update().where(advocacy_issues.c.person_id == person.id).values(summary=None))
    mine = sa.select(referrals.c.id).where(referrals.c.person_id == person.id).scalar_subquery()
    conn.execute(transitions.update().where(transitions.c.referral_id.in_(mine)).values(note=None))
    conn.execute(
        referrals.update()
        .where(referrals.c.person_id == person.id)
        .values(risk_note=None, risk_flags=[], request_fingerprint=None)
    )
    conn.execute(outbox.delete().where(outbox.c.exchange == PRIVATE_EXCHANGE, outbox.c.subject == str(person.id)))


# Possible duplicates ---------------------------------------------------------------------


def add_possible_duplicate(conn: Connection, check: PossibleDuplicate) -> None:
    conn.execute(
        possible_duplicates.insert().values(
            **_check_values(check),
            referral_id=check.referral_id,
            person_id=check.person_id,
            matched_on=list(check.matched_on),
            flagged_at=check.flagged_at,
        )
    )


def save_possible_duplicate(conn: Connection, check: PossibleDuplicate) -> None:
    conn.execute(
        possible_duplicates.update()
        .where(possible_duplicates.c.referral_id == check.referral_id)
        .values(**_check_values(check))
    )


def _check_values(check: PossibleDuplicate) -> dict[str, Any]:
    proposed = check.proposed
    return {
        "given_name": proposed.given_name if proposed else None,
        "family_name": proposed.family_name if proposed else None,
        "date_of_birth": proposed.date_of_birth if proposed else None,
        "preferred_language": proposed.preferred_language if proposed else None,
        "email": proposed.contact.email if proposed else None,
        "phone": proposed.contact.phone if proposed else None,
        "contact_channels": list(proposed.contact.channels) if proposed else None,
        "safe_to_text": proposed.contact.safe_to_text if proposed else None,
        "resolution": check.resolution.value if check.resolution else None,
        "resolved_at": check.resolved_at,
        "resolved_by": check.resolved_by,
        "contact_details_applied": check.contact_details_applied,
        "new_person_id": check.new_person_id,
    }


def get_possible_duplicate(
    conn: Connection, referral_id: uuid.UUID, *, for_update: bool = False
) -> PossibleDuplicate | None:
    query = sa.select(possible_duplicates).where(possible_duplicates.c.referral_id == referral_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return _possible_duplicate(row) if row else None


def possible_duplicates_about(conn: Connection, person_id: uuid.UUID) -> list[PossibleDuplicate]:
    """The possible duplicates linked to the person, or resolved as someone else in her favour."""
    rows = conn.execute(
        sa.select(possible_duplicates)
        .where(sa.or_(possible_duplicates.c.person_id == person_id, possible_duplicates.c.new_person_id == person_id))
        .order_by(possible_duplicates.c.flagged_at)
    )
    return [_possible_duplicate(row) for row in rows]


def _possible_duplicate(row: Any) -> PossibleDuplicate:
    proposed = None
    if row.resolution is None:
        proposed = ProposedDetails(
            given_name=row.given_name,
            family_name=row.family_name,
            date_of_birth=row.date_of_birth,
            preferred_language=row.preferred_language,
            contact=ContactDetails(row.email, row.phone, tuple(row.contact_channels or ()), bool(row.safe_to_text)),
        )
    return PossibleDuplicate(
        referral_id=row.referral_id,
        person_id=row.person_id,
        matched_on=tuple(row.matched_on),
        flagged_at=row.flagged_at,
        proposed=proposed,
        resolution=Resolution(row.resolution) if row.resolution else None,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        contact_details_applied=row.contact_details_applied,
        new_person_id=row.new_person_id,
    )


# Referrals ------------------------------------------------------------------------------


def add_referral(conn: Connection, referral: Referral, *, idempotency: tuple[str, str] | None = None) -> None:
    key, fingerprint = idempotency or (None, None)
    conn.execute(
        referrals.insert().values(
            **_referral_values(referral),
            id=referral.id,
            site=referral.site,
            source=referral.source,
            received_at=referral.received_at,
            self_referral=referral.self_referral,
            consent_share_with_mentor=referral.consent.share_with_mentor,
            consent_share_with_gp=referral.consent.share_with_gp,
            consent_counted_in_figures=referral.consent.counted_in_figures,
            consent_wording_version=referral.consent.wording_version,
            consent_given_at=referral.consent.given_at,
            idempotency_key=key,
            request_fingerprint=fingerprint,
        )
    )


def save_referral(conn: Connection, referral: Referral) -> None:
    conn.execute(referrals.update().where(referrals.c.id == referral.id).values(**_referral_values(referral)))


def _referral_values(referral: Referral) -> dict[str, Any]:
    return {
        # Who the referral is for, and what follows from their age, change once: when a
        # coordinator says who a possible duplicate is.
        "person_id": referral.person_id,
        "age_band": referral.age_band,
        "consent_review_on": referral.consent.review_on,
        "known_person": referral.known_person,
        "duplicate_of": referral.duplicate_of,
        "duplicate_pending": referral.duplicate_pending,
        "status": referral.status.value,
        "support_needs": list(referral.support_needs),
        "interests": list(referral.interests),
        "availability": list(referral.availability),
        "mentor_gender": referral.preferences.mentor_gender,
        "welsh_speaking_mentor": referral.preferences.welsh_speaking_mentor,
        "priority": referral.priority,
        "risk_flags": list(referral.risk_flags),
        "risk_note": referral.risk_note,
        "accepted_at": referral.accepted_at,
        "matched_at": referral.matched_at,
        "closed_at": referral.closed_at,
        "outcome": referral.outcome,
        "current_match_id": referral.current_match_id,
        "mentor_id": referral.mentor_id,
    }


def get_referral(conn: Connection, referral_id: uuid.UUID, *, for_update: bool = False) -> Referral | None:
    query = sa.select(referrals).where(referrals.c.id == referral_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return _referral(row) if row else None


def referral_for_key(conn: Connection, key: str) -> tuple[Referral, str] | None:
    row = conn.execute(sa.select(referrals).where(referrals.c.idempotency_key == key)).one_or_none()
    return (_referral(row), row.request_fingerprint) if row else None


def referrals_of(conn: Connection, person_id: uuid.UUID) -> list[Referral]:
    rows = conn.execute(
        sa.select(referrals).where(referrals.c.person_id == person_id).order_by(referrals.c.received_at)
    )
    return [_referral(row) for row in rows]


@dataclass(frozen=True)
class ReferralFilter:
    status: str | None = None
    source: str | None = None
    need: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    triage_overdue: bool | None = None
    consent_review_due: bool | None = None
    duplicate_pending: bool | None = None
    sort: str = "-received_at"
    limit: int = 50
    offset: int = 0


SORTABLE = {
    "received_at": referrals.c.received_at,
    "accepted_at": referrals.c.accepted_at,
    "status": referrals.c.status,
}


def list_referrals(
    conn: Connection, query: ReferralFilter, *, now: datetime, zone: tzinfo
) -> tuple[list[Referral], int]:
    """A page of referrals. Days are the site's (``zone``): those received on a day, and a
    consent review falling due today."""
    conditions: list[Any] = []
    if query.status:
        conditions.append(referrals.c.status == query.status)
    if query.source:
        conditions.append(referrals.c.source == query.source)
    if query.need:
        conditions.append(_has_need(conn.dialect.name, query.need))
    if query.received_from:
        conditions.append(referrals.c.received_at >= days.start_of(query.received_from, zone))
    if query.received_to:
        conditions.append(referrals.c.received_at < days.start_of(query.received_to + timedelta(days=1), zone))
    if query.duplicate_pending is not None:
        conditions.append(referrals.c.duplicate_pending == query.duplicate_pending)
    if query.triage_overdue is not None:
        overdue = sa.and_(
            referrals.c.status == Status.RECEIVED.value,
            referrals.c.received_at < now - TRIAGE_DUE_WITHIN,
        )
        conditions.append(overdue if query.triage_overdue else sa.not_(overdue))
    if query.consent_review_due is not None:
        due = sa.and_(
            referrals.c.status.in_([s.value for s in OPEN]),
            referrals.c.consent_review_on <= days.day_of(now, zone),
        )
        conditions.append(due if query.consent_review_due else sa.not_(sa.func.coalesce(due, sa.false())))
    column = SORTABLE[query.sort.lstrip("-")]
    order = column.desc().nulls_last() if query.sort.startswith("-") else column.asc().nulls_last()
    rows = conn.execute(
        sa.select(referrals).where(*conditions).order_by(order, referrals.c.id).limit(query.limit).offset(query.offset)
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(referrals).where(*conditions)).scalar_one()
    return [_referral(row) for row in rows], int(total)


def _has_need(dialect: str, need: str) -> Any:
    """Support needs are a JSON list; each database looks inside it its own way."""
    if dialect == "postgresql":
        return referrals.c.support_needs.cast(postgresql.JSONB).contains([need])
    each = sa.func.json_each(referrals.c.support_needs).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == need))


def referrals_received(conn: Connection, since: datetime, until: datetime) -> list[Referral]:
    """A cohort: the referrals received in [since, until)."""
    rows = conn.execute(sa.select(referrals).where(referrals.c.received_at >= since, referrals.c.received_at < until))
    return [_referral(row) for row in rows]


def accepted_referrals(conn: Connection) -> list[Referral]:
    rows = conn.execute(sa.select(referrals).where(referrals.c.status == Status.ACCEPTED.value))
    return [_referral(row) for row in rows]


def waits_to_match(conn: Connection, since: datetime) -> list[tuple[datetime, datetime]]:
    """When each match made since ``since`` was waited for: (accepted, matched)."""
    rows = conn.execute(
        sa.select(transitions.c.referral_id, transitions.c.at).where(
            transitions.c.action == Action.MATCH.value, transitions.c.at >= since
        )
    ).all()
    waits = []
    for row in rows:
        accepted = conn.execute(
            sa.select(sa.func.max(transitions.c.at)).where(
                transitions.c.referral_id == row.referral_id,
                transitions.c.to_status == Status.ACCEPTED.value,
                transitions.c.at <= row.at,
            )
        ).scalar_one_or_none()
        if accepted is not None:
            waits.append((accepted, row.at))
    return waits


def _referral(row: Any) -> Referral:
    return Referral(
        id=row.id,
        person_id=row.person_id,
        site=row.site,
        source=row.source,
        support_needs=tuple(row.support_needs),
        consent=Consent(
            share_with_mentor=row.consent_share_with_mentor,
            share_with_gp=row.consent_share_with_gp,
            counted_in_figures=row.consent_counted_in_figures,
            wording_version=row.consent_wording_version,
            given_at=row.consent_given_at,
            review_on=row.consent_review_on,
        ),
        received_at=row.received_at,
        age_band=row.age_band,
        status=Status(row.status),
        interests=tuple(row.interests),
        availability=tuple(row.availability),
        preferences=Preferences(row.mentor_gender, row.welsh_speaking_mentor),
        priority=row.priority,
        risk_flags=tuple(row.risk_flags),
        risk_note=row.risk_note,
        self_referral=row.self_referral,
        known_person=row.known_person,
        duplicate_of=row.duplicate_of,
        duplicate_pending=row.duplicate_pending,
        accepted_at=row.accepted_at,
        matched_at=row.matched_at,
        closed_at=row.closed_at,
        outcome=row.outcome,
        current_match_id=row.current_match_id,
        mentor_id=row.mentor_id,
    )


# Transitions, advocacy, check-ins --------------------------------------------------------------


def add_transition(conn: Connection, transition: Transition) -> None:
    conn.execute(
        transitions.insert().values(
            id=transition.id,
            referral_id=transition.referral_id,
            action=transition.action.value,
            from_status=transition.from_status.value,
            to_status=transition.to_status.value,
            at=transition.at,
            actor=transition.actor,
            reason=transition.reason,
            note=transition.note,
        )
    )


def transitions_of(conn: Connection, referral_ids: Iterable[uuid.UUID]) -> list[Transition]:
    rows = conn.execute(
        sa.select(transitions).where(transitions.c.referral_id.in_(list(referral_ids))).order_by(transitions.c.at)
    )
    return [
        Transition(
            id=row.id,
            referral_id=row.referral_id,
            action=Action(row.action),
            from_status=Status(row.from_status),
            to_status=Status(row.to_status),
            at=row.at,
            actor=row.actor,
            reason=row.reason,
            note=row.note,
        )
        for row in rows
    ]


def add_issue(conn: Connection, issue: AdvocacyIssue) -> None:
    conn.execute(advocacy_issues.insert().values(**_issue_values(issue), id=issue.id, person_id=issue.person_id))


def save_issue(conn: Connection, issue: AdvocacyIssue) -> None:
    conn.execute(advocacy_issues.update().where(advocacy_issues.c.id == issue.id).values(**_issue_values(issue)))


def _issue_values(issue: AdvocacyIssue) -> dict[str, Any]:
    return {
        "category": issue.category,
        "summary": issue.summary,
        "opened_at": issue.opened_at,
        "resolved_at": issue.resolved_at,
        "resolution": issue.resolution,
    }


def issues_of(conn: Connection, person_id: uuid.UUID) -> list[AdvocacyIssue]:
    rows = conn.execute(
        sa.select(advocacy_issues).where(advocacy_issues.c.person_id == person_id).order_by(advocacy_issues.c.opened_at)
    )
    return [_issue(row) for row in rows]


def get_issue(conn: Connection, person_id: uuid.UUID, issue_id: uuid.UUID) -> AdvocacyIssue | None:
    row = conn.execute(
        sa.select(advocacy_issues).where(advocacy_issues.c.id == issue_id, advocacy_issues.c.person_id == person_id)
    ).one_or_none()
    return _issue(row) if row else None


def _issue(row: Any) -> AdvocacyIssue:
    return AdvocacyIssue(
        row.id, row.person_id, row.category, row.summary, row.opened_at, row.resolved_at, row.resolution
    )


def add_check_in(conn: Connection, check_in: CheckIn) -> None:
    conn.execute(
        check_ins.insert().values(
            id=check_in.id,
            referral_id=check_in.referral_id,
            person_id=check_in.person_id,
            scale_id=check_in.scale_id,
            timepoint=check_in.timepoint,
            answers=check_in.answers,
            score=check_in.score,
            recorded_at=check_in.recorded_at,
        )
    )


def check_ins_of(conn: Connection, referral_ids: Sequence[uuid.UUID]) -> list[CheckIn]:
    rows = conn.execute(
        sa.select(check_ins).where(check_ins.c.referral_id.in_(list(referral_ids))).order_by(check_ins.c.recorded_at)
    )
    return [
        CheckIn(
            row.id,
            row.referral_id,
            row.person_id,
            row.scale_id,
            row.timepoint,
            dict(row.answers),
            row.score,
            row.recorded_at,
        )
        for row in rows
    ]
