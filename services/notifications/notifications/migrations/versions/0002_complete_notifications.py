"""Everyone we write to (mentors, guests, coordinators), preferences, deliveries per channel with
reasons, events, registrations and reminders, matches, language decisions, texts received.

Revision ID: notifications_0002
Revises: notifications_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "notifications_0002"
down_revision: str | None = "notifications_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recipients") as batch:
        batch.alter_column("person_id", new_column_name="recipient_id", existing_type=sa.String(36), nullable=False)
        batch.add_column(sa.Column("audience", sa.String(length=12), nullable=False, server_default="person"))
        batch.alter_column("given_name", existing_type=sa.String(100), nullable=True)
        batch.add_column(sa.Column("phone_key", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("sms_stopped_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("erased_at", UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_recipients_phone_key", ["phone_key"])
    with op.batch_alter_table("recipients") as batch:
        batch.alter_column("audience", existing_type=sa.String(12), server_default=None)

    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_event_id_person_id_channel_kind", type_="unique")
        batch.drop_index("ix_deliveries_person_id")
        batch.drop_index("ix_deliveries_status_due_at")
        batch.alter_column("person_id", new_column_name="recipient_id", existing_type=sa.String(36), nullable=False)
        batch.alter_column("event_id", existing_type=sa.String(100), type_=sa.String(160), nullable=False)
        batch.add_column(sa.Column("audience", sa.String(length=12), nullable=False, server_default="person"))
        batch.add_column(sa.Column("reason", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("about_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("art_event_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("registration_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("digest_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("segments", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("provider", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("provider_ref", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("settled_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("audience", existing_type=sa.String(12), server_default=None)
        batch.create_unique_constraint(
            "uq_deliveries_event_id_recipient_id_channel_kind", ["event_id", "recipient_id", "channel", "kind"]
        )
        batch.create_index("ix_deliveries_recipient_id", ["recipient_id"])
        batch.create_index("ix_deliveries_about_id", ["about_id"])
        batch.create_index("ix_deliveries_art_event_id", ["art_event_id"])
        batch.create_index("ix_deliveries_registration_id", ["registration_id"])
        batch.create_index("ix_deliveries_digest_id", ["digest_id"])
        batch.create_index("ix_deliveries_status_channel_due_at", ["status", "channel", "due_at"])
    # The first slice sent email only and waited for contact details in last_error's words.
    op.execute(
        "UPDATE deliveries SET reason = 'waiting-for-contact' "
        "WHERE status = 'pending' AND last_error = 'waiting for contact details'"
    )

    op.create_table(
        "preferences",
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("quiet_hours", sa.String(length=11), nullable=True),
        sa.Column("opt_out", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=10), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("recipient_id", name="pk_preferences"),
    )
    op.create_table(
        "art_events",
        sa.Column("art_event_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title_cy", sa.String(length=200), nullable=True),
        sa.Column("title_en", sa.String(length=200), nullable=True),
        sa.Column("venue", sa.String(length=200), nullable=True),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("art_event_id", name="pk_art_events"),
    )
    op.create_table(
        "registrations",
        sa.Column("registration_id", sa.String(length=36), nullable=False),
        sa.Column("art_event_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("audience", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("cancel_reason", sa.String(length=30), nullable=True),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("registration_id", name="pk_registrations"),
    )
    op.create_index("ix_registrations_art_event_id", "registrations", ["art_event_id"])
    op.create_index("ix_registrations_recipient_id", "registrations", ["recipient_id"])
    op.create_table(
        "reminders",
        sa.Column("registration_id", sa.String(length=36), nullable=False),
        sa.Column("art_event_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("audience", sa.String(length=12), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("booked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sent_for", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("registration_id", name="pk_reminders"),
    )
    op.create_index("ix_reminders_art_event_id", "reminders", ["art_event_id"])
    op.create_index("ix_reminders_recipient_id", "reminders", ["recipient_id"])
    op.create_index("ix_reminders_status_starts_at", "reminders", ["status", "starts_at"])
    op.create_table(
        "matches",
        sa.Column("match_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("mentor_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("match_id", name="pk_matches"),
    )
    op.create_index("ix_matches_person_id", "matches", ["person_id"])
    op.create_table(
        "language_decisions",
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("languages", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_language_decisions"),
    )
    op.create_index("ix_language_decisions_recipient_id", "language_decisions", ["recipient_id"])
    op.create_index("ix_language_decisions_decided_at", "language_decisions", ["decided_at"])
    op.create_table(
        "inbound_texts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=10), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_texts"),
    )


def downgrade() -> None:
    for table in ("inbound_texts", "language_decisions", "matches", "reminders", "registrations", "art_events"):
        op.drop_table(table)
    op.drop_table("preferences")
    with op.batch_alter_table("deliveries") as batch:
        for index in (
            "ix_deliveries_status_channel_due_at",
            "ix_deliveries_digest_id",
            "ix_deliveries_registration_id",
            "ix_deliveries_art_event_id",
            "ix_deliveries_about_id",
            "ix_deliveries_recipient_id",
        ):
            batch.drop_index(index)
        batch.drop_constraint("uq_deliveries_event_id_recipient_id_channel_kind", type_="unique")
        for column in (
            "settled_at",
            "provider_ref",
            "provider",
            "segments",
            "digest_id",
            "registration_id",
            "art_event_id",
            "about_id",
            "reason",
            "audience",
        ):
            batch.drop_column(column)
        batch.alter_column("event_id", existing_type=sa.String(160), type_=sa.String(100), nullable=False)
        batch.alter_column("recipient_id", new_column_name="person_id", existing_type=sa.String(36), nullable=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.create_unique_constraint(
            "uq_deliveries_event_id_person_id_channel_kind", ["event_id", "person_id", "channel", "kind"]
        )
        batch.create_index("ix_deliveries_person_id", ["person_id"])
        batch.create_index("ix_deliveries_status_due_at", ["status", "due_at"])
    with op.batch_alter_table("recipients") as batch:
        batch.drop_index("ix_recipients_phone_key")
        for column in ("erased_at", "sms_stopped_at", "phone_key", "audience"):
            batch.drop_column(column)
        batch.alter_column("recipient_id", new_column_name="person_id", existing_type=sa.String(36), nullable=False)
