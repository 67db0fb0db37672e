"""The audit log moves to the shared audit trail (``peerlink.audit``): every entry is kept.

``audit_log`` (person_id, referral_id) becomes ``peerlink_audit`` (subject_kind 'person',
subject_id, related_id), the shape every service now uses, copied row for row with its position,
so the order and the entries' numbers stay the same.

Revision ID: referrals_0004
Revises: referrals_0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import peerlink.db
from peerlink.migration_ops import create_audit_table_v1, drop_audit_table_v1

revision: str = "referrals_0004"
down_revision: str | None = "referrals_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMON = "position, at, action, actor, role, what, correlation_id"


def upgrade() -> None:
    create_audit_table_v1()
    op.execute(
        f"INSERT INTO peerlink_audit ({_COMMON}, subject_kind, subject_id, related_id) "
        f"SELECT {_COMMON}, 'person', person_id, referral_id FROM audit_log"
    )
    _continue_numbering("peerlink_audit")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_person_id"))
    op.drop_table("audit_log")


def downgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(length=120), nullable=False),
        sa.Column("correlation_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_person_id"), ["person_id"], unique=False)
    op.execute(
        f"INSERT INTO audit_log ({_COMMON}, person_id, referral_id) "
        f"SELECT {_COMMON}, subject_id, related_id FROM peerlink_audit WHERE subject_kind = 'person'"
    )
    _continue_numbering("audit_log")
    drop_audit_table_v1()


def _continue_numbering(table: str) -> None:
    """Rows were copied with their positions: PostgreSQL's sequence must go on after the last
    one (SQLite's rowid does by itself)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'position'), "
            f"COALESCE((SELECT max(position) FROM {table}), 0) + 1, false)"
        )
