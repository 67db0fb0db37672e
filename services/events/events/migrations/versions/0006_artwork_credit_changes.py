"""The history of each artwork's credit: to what, when and by whom its artist's consent changed.

Revision ID: events_0006
Revises: events_0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "events_0006"
down_revision: str | None = "events_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty at first: what artworks already had was agreed before anyone kept the history, and
    # the table says only what it saw (an artwork credited by name keeps its consent_recorded_at).
    op.create_table(
        "artwork_credit_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("artwork_id", sa.Uuid(), nullable=False),
        sa.Column("credit", sa.String(length=12), nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["artwork_id"], ["artworks.id"], name=op.f("fk_artwork_credit_changes_artwork_id_artworks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artwork_credit_changes")),
    )
    with op.batch_alter_table("artwork_credit_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artwork_credit_changes_artwork_id"), ["artwork_id"], unique=False)


def downgrade() -> None:
    op.drop_table("artwork_credit_changes")
