"""Acknowledgements held for possible duplicates: a referral linked to someone already known
(``known_person``) is acknowledged only once ``referral.person-resolved`` says whose it is.

Revision ID: notifications_0007
Revises: notifications_0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "notifications_0007"
down_revision: str | None = "notifications_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "held_acknowledgements",
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=160), nullable=True),
        sa.Column("linked_person_id", sa.String(length=36), nullable=True),
        sa.Column("held_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("referral_status", sa.String(length=12), nullable=True),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_held_acknowledgements")),
    )
    with op.batch_alter_table("held_acknowledgements") as batch:
        batch.create_index(batch.f("ix_held_acknowledgements_linked_person_id"), ["linked_person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("held_acknowledgements") as batch:
        batch.drop_index(batch.f("ix_held_acknowledgements_linked_person_id"))
    op.drop_table("held_acknowledgements")
