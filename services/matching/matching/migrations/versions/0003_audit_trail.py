"""The audit trail: who read or changed a mentor's record.

Revision ID: matching_0003
Revises: matching_0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from peerlink.migration_ops import create_audit_table_v1, drop_audit_table_v1

revision: str = "matching_0003"
down_revision: str | None = "matching_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table_v1()


def downgrade() -> None:
    drop_audit_table_v1()
