"""Whether each match request's person may be counted centrally (from referral.accepted).

When it is false, matching sends the request's match events to ``peerlink.site-only`` instead
of ``peerlink.events``, as referrals does with the referral's own events.

Requests stored before this are taken as counted: matching never learnt their consent, and
nothing it keeps says which exchange their ``referral.accepted`` came through. A site that had
people not counted centrally can set theirs from referrals' database (services/matching/README.md,
"Upgrading"); until then their match events still reach the central office, as they did.

Revision ID: matching_0004
Revises: matching_0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "matching_0004"
down_revision: str | None = "matching_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted_in_figures", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("match_requests", schema=None) as batch_op:
        batch_op.drop_column("counted_in_figures")
