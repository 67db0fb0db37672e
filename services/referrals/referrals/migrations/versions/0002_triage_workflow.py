"""Triage workflow, waiting list, advocacy issues, check-ins, duplicate keys, erasure.

Revision ID: referrals_0002
Revises: referrals_0001
Create Date: 2026-11-22
"""

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "referrals_0002"
down_revision: str | None = "referrals_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "advocacy_issues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_advocacy_issues_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advocacy_issues")),
    )
    with op.batch_alter_table("advocacy_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_advocacy_issues_person_id"), ["person_id"], unique=False)

    op.create_table(
        "check_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("scale_id", sa.String(length=40), nullable=False),
        sa.Column("timepoint", sa.String(length=10), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], name=op.f("fk_check_ins_referral_id_referrals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
    )
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_ins_referral_id"), ["referral_id"], unique=False)

    op.create_table(
        "referral_transitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_transitions_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_transitions")),
    )
    with op.batch_alter_table("referral_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_transitions_referral_id"), ["referral_id"], unique=False)

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("email_key", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("phone_key", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("erased_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column("date_of_birth", existing_type=sa.DATE(), nullable=True)
        batch_op.create_index(batch_op.f("ix_people_email_key"), ["email_key"], unique=False)
        batch_op.create_index("ix_people_name_key_date_of_birth", ["name_key", "date_of_birth"], unique=False)
        batch_op.create_index(batch_op.f("ix_people_phone_key"), ["phone_key"], unique=False)

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("age_band", sa.String(length=8), server_default="unknown", nullable=False))
        batch_op.add_column(sa.Column("availability", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column("mentor_gender", sa.String(length=20), server_default="no-preference", nullable=False)
        )
        batch_op.add_column(sa.Column("welsh_speaking_mentor", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("priority", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("risk_flags", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("risk_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("self_referral", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("known_person", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("duplicate_of", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("consent_share_with_gp", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("consent_review_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("matched_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("current_match_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("mentor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("request_fingerprint", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_referrals_source"), ["source"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_referrals_idempotency_key"), ["idempotency_key"])

    _fill_keys_of_existing_people()
    _fill_age_bands_of_existing_referrals()


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_referrals_idempotency_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_referrals_source"))
        batch_op.drop_column("request_fingerprint")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("mentor_id")
        batch_op.drop_column("current_match_id")
        batch_op.drop_column("outcome")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("matched_at")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("consent_review_on")
        batch_op.drop_column("consent_share_with_gp")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("known_person")
        batch_op.drop_column("self_referral")
        batch_op.drop_column("risk_note")
        batch_op.drop_column("risk_flags")
        batch_op.drop_column("priority")
        batch_op.drop_column("welsh_speaking_mentor")
        batch_op.drop_column("mentor_gender")
        batch_op.drop_column("availability")
        batch_op.drop_column("age_band")

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_phone_key"))
        batch_op.drop_index("ix_people_name_key_date_of_birth")
        batch_op.drop_index(batch_op.f("ix_people_email_key"))
        batch_op.alter_column("date_of_birth", existing_type=sa.DATE(), nullable=False)
        batch_op.drop_column("erased_at")
        batch_op.drop_column("phone_key")
        batch_op.drop_column("email_key")
        batch_op.drop_column("name_key")

    with op.batch_alter_table("referral_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_transitions_referral_id"))

    op.drop_table("referral_transitions")
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_ins_referral_id"))

    op.drop_table("check_ins")
    with op.batch_alter_table("advocacy_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advocacy_issues_person_id"))

    op.drop_table("advocacy_issues")


# Data steps, frozen here (not imported from the domain, which may change later).


def _name_key(given_name: str, family_name: str) -> str:
    text = unicodedata.normalize("NFKD", f"{given_name} {family_name}")
    return re.sub(r"[^a-z]", "", "".join(c for c in text if not unicodedata.combining(c)).lower())


def _phone_key(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("44"):
        digits = "0" + digits[2:]
    return digits or None


def _fill_keys_of_existing_people() -> None:
    bind = op.get_bind()
    people = sa.table(
        "people",
        sa.column("id", sa.Uuid),
        sa.column("given_name", sa.String),
        sa.column("family_name", sa.String),
        sa.column("email", sa.String),
        sa.column("phone", sa.String),
        sa.column("name_key", sa.String),
        sa.column("email_key", sa.String),
        sa.column("phone_key", sa.String),
    )
    for row in bind.execute(sa.select(people)).all():
        bind.execute(
            people.update()
            .where(people.c.id == row.id)
            .values(
                name_key=_name_key(row.given_name, row.family_name),
                email_key=row.email.strip().lower() if row.email else None,
                phone_key=_phone_key(row.phone),
            )
        )


def _band(age: int) -> str:
    for band, upper in (("16-17", 17), ("18-24", 24), ("25-34", 34), ("35-44", 44), ("45-54", 54), ("55-64", 64)):
        if age <= upper:
            return band
    return "65+"


def _fill_age_bands_of_existing_referrals() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT referrals.id AS id, people.date_of_birth AS born, referrals.received_at AS received "
            "FROM referrals JOIN people ON people.id = referrals.person_id"
        )
    ).all()
    for row in rows:
        born = row.born if isinstance(row.born, date) else date.fromisoformat(str(row.born))
        received = date.fromisoformat(str(row.received)[:10])
        age = received.year - born.year - ((received.month, received.day) < (born.month, born.day))
        bind.execute(
            sa.text("UPDATE referrals SET age_band = :band WHERE id = :id"),
            {"band": _band(age), "id": row.id},
        )
