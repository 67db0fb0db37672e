"""The audit trail: who read or changed a public guest's record.

Revision ID: events_0004
Revises: events_0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from peerlink.migration_ops import create_audit_table_v1, drop_audit_table_v1

revision: str = "events_0004"
down_revision: str | None = "events_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table_v1()


def downgrade() -> None:
    drop_audit_table_v1()
