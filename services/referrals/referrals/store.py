"""Referrals' own tables, and the translation between rows and domain objects."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peerlink.db import UTCDateTime, new_metadata
from referrals.domain import Consent, Person, Referral

metadata = new_metadata()

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("family_name", sa.String(100), nullable=False),
    sa.Column("date_of_birth", sa.Date, nullable=False),
    sa.Column("preferred_language", sa.String(2), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32)),
    sa.Column("contact_channels", sa.JSON, nullable=False),
    sa.Column("safe_to_text", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

referrals = sa.Table(
    "referrals",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("people.id"), nullable=False, index=True),
    sa.Column("site", sa.String(40), nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("support_needs", sa.JSON, nullable=False),
    sa.Column("interests", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("consent_share_with_mentor", sa.Boolean, nullable=False),
    sa.Column("consent_counted_in_figures", sa.Boolean, nullable=False),
    sa.Column("consent_wording_version", sa.String(40), nullable=False),
    sa.Column("consent_given_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False, index=True),
)


def add_person(conn: Connection, person: Person, *, created_at: Any) -> None:
    conn.execute(
        people.insert().values(
            id=person.id,
            given_name=person.given_name,
            family_name=person.family_name,
            date_of_birth=person.date_of_birth,
            preferred_language=person.preferred_language,
            email=person.contact.email,
            phone=person.contact.phone,
            contact_channels=list(person.contact.channels),
            safe_to_text=person.contact.safe_to_text,
            created_at=created_at,
        )
    )


def add_referral(conn: Connection, referral: Referral) -> None:
    conn.execute(
        referrals.insert().values(
            id=referral.id,
            person_id=referral.person_id,
            site=referral.site,
            source=referral.source,
            support_needs=list(referral.support_needs),
            interests=list(referral.interests),
            status=referral.status,
            consent_share_with_mentor=referral.consent.share_with_mentor,
            consent_counted_in_figures=referral.consent.counted_in_figures,
            consent_wording_version=referral.consent.wording_version,
            consent_given_at=referral.consent.given_at,
            received_at=referral.received_at,
        )
    )


def get_referral(conn: Connection, referral_id: uuid.UUID) -> Referral | None:
    row = conn.execute(sa.select(referrals).where(referrals.c.id == referral_id)).one_or_none()
    return _referral(row) if row else None


def list_referrals(conn: Connection, *, status: str | None, limit: int, offset: int) -> tuple[list[Referral], int]:
    query = sa.select(referrals)
    count = sa.select(sa.func.count()).select_from(referrals)
    if status:
        query = query.where(referrals.c.status == status)
        count = count.where(referrals.c.status == status)
    rows = conn.execute(query.order_by(referrals.c.received_at.desc(), referrals.c.id).limit(limit).offset(offset))
    return [_referral(row) for row in rows], int(conn.execute(count).scalar_one())


def _referral(row: Any) -> Referral:
    return Referral(
        id=row.id,
        person_id=row.person_id,
        site=row.site,
        source=row.source,
        support_needs=tuple(row.support_needs),
        interests=tuple(row.interests),
        status=row.status,
        consent=Consent(
            share_with_mentor=row.consent_share_with_mentor,
            counted_in_figures=row.consent_counted_in_figures,
            wording_version=row.consent_wording_version,
            given_at=row.consent_given_at,
        ),
        received_at=row.received_at,
    )
