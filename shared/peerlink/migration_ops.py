"""Versioned migration steps for the messaging tables every service keeps.

A service's first migration calls ``create_messaging_tables_v1()``. These functions are
frozen: a later change to the messaging tables gets a new ``..._v2`` step that each
service's next migration calls, so history never changes under a deployed database.
"""

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime


def create_messaging_tables_v1() -> None:
    op.create_table(
        "peerlink_outbox",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("routing_key", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("correlation_id", sa.String(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_peerlink_outbox"),
        sa.UniqueConstraint("event_id", name="uq_peerlink_outbox_event_id"),
    )
    op.create_index("ix_peerlink_outbox_published_at", "peerlink_outbox", ["published_at"])
    op.create_index(
        "ix_peerlink_outbox_unpublished",
        "peerlink_outbox",
        ["position"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A queue-like table whose rows come and go all day: vacuum and analyze it far sooner
        # than the default (a fifth of the table changed), so its partial index stays lean and
        # the relay's query keeps its index plan.
        op.execute(
            "ALTER TABLE peerlink_outbox SET (autovacuum_vacuum_scale_factor = 0.01,"
            " autovacuum_analyze_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,"
            " autovacuum_analyze_threshold = 1000)"
        )
    op.create_table(
        "peerlink_aggregate_sequence",
        sa.Column("aggregate", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("aggregate", "subject", name="pk_peerlink_aggregate_sequence"),
    )
    op.create_table(
        "peerlink_inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "source", "event_id", name="pk_peerlink_inbox"),
    )
    op.create_index("ix_peerlink_inbox_processed_at", "peerlink_inbox", ["processed_at"])


def drop_messaging_tables_v1() -> None:
    op.drop_table("peerlink_inbox")
    op.drop_table("peerlink_aggregate_sequence")
    op.drop_table("peerlink_outbox")


def create_audit_table_v1() -> None:
    """The audit trail (``peerlink.audit.audit_table``) for a service that keeps people's records."""
    op.create_table(
        "peerlink_audit",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("related_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(length=120), nullable=False),
        sa.Column("correlation_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_peerlink_audit"),
    )
    op.create_index("ix_peerlink_audit_subject", "peerlink_audit", ["subject_kind", "subject_id", "position"])


def drop_audit_table_v1() -> None:
    op.drop_index("ix_peerlink_audit_subject", table_name="peerlink_audit")
    op.drop_table("peerlink_audit")
