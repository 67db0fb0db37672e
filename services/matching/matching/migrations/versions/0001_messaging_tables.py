"""The messaging tables (outbox, sequences, inbox).

Revision ID: matching_0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from peerlink.migration_ops import create_messaging_tables_v1, drop_messaging_tables_v1

revision: str = "matching_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables_v1()


def downgrade() -> None:
    drop_messaging_tables_v1()
