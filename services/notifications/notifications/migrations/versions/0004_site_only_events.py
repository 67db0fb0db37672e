"""Events about people who did not agree to be counted centrally stay at the site: whether each
person agreed, and which deliveries are about them.

Revision ID: notifications_0004
Revises: notifications_0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "notifications_0004"
down_revision: str | None = "notifications_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counted",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_counted"),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("site_only", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("site_only", existing_type=sa.Boolean(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("site_only")
    op.drop_table("counted")
