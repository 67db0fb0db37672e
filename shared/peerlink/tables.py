"""The messaging tables every service keeps in its own database.

Each service's Alembic environment targets its own metadata *and* this one, so the outbox,
the per-aggregate sequences and the inbox are created by that service's migrations.
"""

import sqlalchemy as sa

from peerlink.db import UTCDateTime, new_metadata

metadata = new_metadata()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL wants BIGINT.
_Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

outbox = sa.Table(
    "peerlink_outbox",
    metadata,
    sa.Column("position", _Position, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("event_type", sa.String(120), nullable=False),
    sa.Column("exchange", sa.String(64), nullable=False),
    sa.Column("routing_key", sa.String(255), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("correlation_id", sa.String(100)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("published_at", UTCDateTime()),
    sa.Index(
        "ix_peerlink_outbox_unpublished",
        "position",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    ),
    sa.Index("ix_peerlink_outbox_published_at", "published_at"),
)

aggregate_sequences = sa.Table(
    "peerlink_aggregate_sequence",
    metadata,
    sa.Column("aggregate", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(100), primary_key=True),
    sa.Column("last_sequence", sa.Integer, nullable=False),
)

inbox = sa.Table(
    "peerlink_inbox",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("event_id", sa.String(100), primary_key=True),
    sa.Column("event_type", sa.String(120), nullable=False),
    sa.Column("processed_at", UTCDateTime(), nullable=False),
    sa.Index("ix_peerlink_inbox_processed_at", "processed_at"),
)
