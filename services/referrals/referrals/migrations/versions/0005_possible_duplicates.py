"""Possible duplicates: a referral linked to someone known waits for a coordinator's answer.

Before this, a referral matched to a known person replaced her contact details at once, so
anyone who knew her name and date of birth could take them over through the public form. Now
the details given with such a referral wait in ``possible_duplicates`` and ``duplicate_pending``
marks the referral until a coordinator says whether it is the same person. Referrals linked
before this migration were merged already: they are not flagged.

Revision ID: referrals_0005
Revises: referrals_0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "referrals_0005"
down_revision: str | None = "referrals_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "possible_duplicates",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("matched_on", sa.JSON(), nullable=False),
        sa.Column("flagged_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("preferred_language", sa.String(length=2), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("contact_channels", sa.JSON(), nullable=True),
        sa.Column("safe_to_text", sa.Boolean(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("contact_details_applied", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("new_person_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_possible_duplicates_person_id_people")),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_possible_duplicates_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_possible_duplicates")),
    )
    with op.batch_alter_table("possible_duplicates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_possible_duplicates_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_possible_duplicates_new_person_id"), ["new_person_id"], unique=False)
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_pending", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f("ix_referrals_duplicate_pending"), ["duplicate_pending"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_duplicate_pending"))
        batch_op.drop_column("duplicate_pending")
    with op.batch_alter_table("possible_duplicates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_possible_duplicates_new_person_id"))
        batch_op.drop_index(batch_op.f("ix_possible_duplicates_person_id"))
    op.drop_table("possible_duplicates")
