"""Whether each participant may be counted by the central office (from referral.received).

Revision ID: events_0003
Revises: events_0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "events_0003"
down_revision: str | None = "events_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "participants",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("counted_in_figures", sa.Boolean(), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_participants")),
    )


def downgrade() -> None:
    op.drop_table("participants")
