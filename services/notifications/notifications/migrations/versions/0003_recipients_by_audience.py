"""Recipients found by audience (the coordinators, for every new referral).

Revision ID: notifications_0003
Revises: notifications_0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "notifications_0003"
down_revision: str | None = "notifications_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_recipients_audience", "recipients", ["audience"])


def downgrade() -> None:
    op.drop_index("ix_recipients_audience", table_name="recipients")
