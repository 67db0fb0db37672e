"""A referral's age band and whether its person was known change together, and later than the
rest of its intake: a coordinator's answer to a possible duplicate (``referral.person-resolved``)
says whose it is. They get a version of their own (``identification``), starting from the
version of the intake that set them, so no replay is needed.

Revision ID: reporting_0004
Revises: reporting_0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reporting_0004"
down_revision: str | None = "reporting_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rm_referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identification_version", sa.String(length=140), nullable=True))
    op.execute("UPDATE rm_referrals SET identification_version = intake_version")


def downgrade() -> None:
    with op.batch_alter_table("rm_referrals", schema=None) as batch_op:
        batch_op.drop_column("identification_version")
