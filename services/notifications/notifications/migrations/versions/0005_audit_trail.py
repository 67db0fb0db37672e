"""The audit trail: who read or changed a recipient's record (contact details and preferences).

Revision ID: notifications_0005
Revises: notifications_0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from peerlink.migration_ops import create_audit_table_v1, drop_audit_table_v1

revision: str = "notifications_0005"
down_revision: str | None = "notifications_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table_v1()


def downgrade() -> None:
    drop_audit_table_v1()
