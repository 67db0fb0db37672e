"""A version for each group of a read model's columns, in place of one time for the row.

With one ``as_of`` a row, an event that arrived late lost a column it should have won as soon
as a newer event had touched any other column of the row. Each group of columns that change
together now keeps the version (sequence, time, id) of the event that set it.

The rows are kept, with no version yet (any event is newer); they were merged by the old rule,
so run ``peerlink-reporting replay`` after this migration to rebuild them by the new one. It
also fills ``rm_mentors.registered_kind``, new here.

Revision ID: reporting_0003
Revises: reporting_0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reporting_0003"
down_revision: str | None = "reporting_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As the read models had them at this revision (not imported: the models move on).
GROUPS = {
    "rm_referrals": ("identity", "intake", "decline", "withdrawal", "closing"),
    "rm_waits": ("wait",),
    "rm_advocacy": ("issue", "resolution"),
    "rm_outcomes": ("check_in",),
    "rm_people": (),
    "rm_mentors": ("profile", "registration", "pause", "leaving"),
    "rm_matches": ("parties", "proposal", "decline", "ending", "cancellation"),
    "rm_art_events": ("event", "schedule", "cancellation"),
    "rm_registrations": ("registration", "cancellation"),
    "rm_attendance": ("record",),
    "rm_sales": ("sale", "void"),
    "rm_deliveries": ("delivery", "failure"),
}


def upgrade() -> None:
    for table, groups in GROUPS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("as_of")
            if table == "rm_mentors":
                batch_op.add_column(sa.Column("registered_kind", sa.String(length=20), nullable=True))
            for group in groups:
                batch_op.add_column(sa.Column(f"{group}_version", sa.String(length=140), nullable=True))


def downgrade() -> None:
    for table, groups in GROUPS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for group in groups:
                batch_op.drop_column(f"{group}_version")
            if table == "rm_mentors":
                batch_op.drop_column("registered_kind")
            # The time of the newest event is not kept any more: the epoch until a replay.
            batch_op.add_column(
                sa.Column(
                    "as_of",
                    sa.DateTime(timezone=True),
                    nullable=False,
                    server_default=sa.text("'1970-01-01 00:00:00+00:00'"),
                )
            )
