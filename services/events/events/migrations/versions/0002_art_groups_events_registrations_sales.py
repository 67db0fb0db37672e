"""Art groups and their facilitators, events and weekly series, guests, registrations,
attendance, artworks, auction lots and bids, sales.

Revision ID: events_0002
Revises: events_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "events_0002"
down_revision: str | None = "events_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "art_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name_cy", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("usual_venue", sa.String(length=200), nullable=False),
        sa.Column("accessibility_cy", sa.Text(), nullable=True),
        sa.Column("accessibility_en", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_art_groups")),
    )
    op.create_table(
        "guests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("preferred_language", sa.String(length=2), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guests")),
        sa.UniqueConstraint("email_key", name=op.f("uq_guests_email_key")),
    )
    op.create_table(
        "artworks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("artist_person_id", sa.Uuid(), nullable=True),
        sa.Column("credit", sa.String(length=12), nullable=False),
        sa.Column("artist_name", sa.String(length=100), nullable=True),
        sa.Column("pseudonym", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("medium", sa.String(length=100), nullable=True),
        sa.Column("artist_share_percent", sa.Integer(), nullable=False),
        sa.Column("print_run", sa.Integer(), nullable=True),
        sa.Column("cards_sold", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("consent_recorded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("artist_share_percent BETWEEN 0 AND 100", name=op.f("ck_artworks_share_is_a_percentage")),
        sa.CheckConstraint(
            "print_run IS NULL OR cards_sold <= print_run", name=op.f("ck_artworks_cards_within_print_run")
        ),
        sa.ForeignKeyConstraint(["group_id"], ["art_groups.id"], name=op.f("fk_artworks_group_id_art_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artworks")),
    )
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artworks_artist_person_id"), ["artist_person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_artworks_group_id"), ["group_id"], unique=False)

    op.create_table(
        "event_series",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title_cy", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description_cy", sa.Text(), nullable=True),
        sa.Column("description_en", sa.Text(), nullable=True),
        sa.Column("venue", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("drop_in", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=500), nullable=False),
        sa.Column("first_wall", sa.DateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("horizon_weeks", sa.Integer(), nullable=False),
        sa.Column("scheduled_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["art_groups.id"], name=op.f("fk_event_series_group_id_art_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_series")),
    )
    with op.batch_alter_table("event_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_series_group_id"), ["group_id"], unique=False)

    op.create_table(
        "group_facilitators",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["art_groups.id"], name=op.f("fk_group_facilitators_group_id_art_groups")
        ),
        sa.PrimaryKeyConstraint("group_id", "person_id", name=op.f("pk_group_facilitators")),
    )
    with op.batch_alter_table("group_facilitators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_facilitators_person_id"), ["person_id"], unique=False)

    op.create_table(
        "art_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("series_id", sa.Uuid(), nullable=True),
        sa.Column("occurrence_start", UTCDateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title_cy", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description_cy", sa.Text(), nullable=True),
        sa.Column("description_en", sa.Text(), nullable=True),
        sa.Column("venue", sa.String(length=200), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("drop_in", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("places_confirmed", sa.Integer(), nullable=False),
        sa.Column("queue_counter", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("places_confirmed >= 0", name=op.f("ck_art_events_places_not_negative")),
        sa.ForeignKeyConstraint(["group_id"], ["art_groups.id"], name=op.f("fk_art_events_group_id_art_groups")),
        sa.ForeignKeyConstraint(["series_id"], ["event_series.id"], name=op.f("fk_art_events_series_id_event_series")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_art_events")),
        sa.UniqueConstraint("series_id", "occurrence_start", name=op.f("uq_art_events_series_id_occurrence_start")),
    )
    with op.batch_alter_table("art_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_art_events_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_art_events_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "auction_lots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("artwork_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reserve_pence", sa.Integer(), nullable=True),
        sa.Column("opening_pence", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("winning_bid_id", sa.Uuid(), nullable=True),
        sa.Column("sale_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["artwork_id"], ["artworks.id"], name=op.f("fk_auction_lots_artwork_id_artworks")),
        sa.ForeignKeyConstraint(["event_id"], ["art_events.id"], name=op.f("fk_auction_lots_event_id_art_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auction_lots")),
        sa.UniqueConstraint("event_id", "number", name=op.f("uq_auction_lots_event_id_number")),
    )
    with op.batch_alter_table("auction_lots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auction_lots_artwork_id"), ["artwork_id"], unique=False)

    op.create_table(
        "registrations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("guest_id", sa.Uuid(), nullable=True),
        sa.Column("mentor_id", sa.Uuid(), nullable=True),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("queue_number", sa.Integer(), nullable=True),
        sa.Column("registered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("waitlisted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("promoted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.Column("was", sa.String(length=12), nullable=True),
        sa.Column("erased_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.CheckConstraint("person_id IS NULL OR guest_id IS NULL", name=op.f("ck_registrations_one_registrant")),
        sa.ForeignKeyConstraint(["event_id"], ["art_events.id"], name=op.f("fk_registrations_event_id_art_events")),
        sa.ForeignKeyConstraint(["guest_id"], ["guests.id"], name=op.f("fk_registrations_guest_id_guests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_registrations_idempotency_key")),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registrations_event_id_status", ["event_id", "status", "priority", "queue_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registrations_guest_id"), ["guest_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_registrations_mentor_id"), ["mentor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_registrations_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "uq_registrations_active_guest",
            ["event_id", "guest_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"),
            sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')"),
        )
        batch_op.create_index(
            "uq_registrations_active_person",
            ["event_id", "person_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"),
            sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')"),
        )

    op.create_table(
        "sales",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("artwork_id", sa.Uuid(), nullable=True),
        sa.Column("lot_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_pence", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("artist_share_pence", sa.Integer(), nullable=False),
        sa.Column("scheme_share_pence", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("voided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(length=40), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "artist_share_pence + scheme_share_pence = amount_pence", name=op.f("ck_sales_shares_add_up")
        ),
        sa.CheckConstraint(
            "artist_share_pence >= 0 AND scheme_share_pence >= 0", name=op.f("ck_sales_shares_not_negative")
        ),
        sa.ForeignKeyConstraint(["artwork_id"], ["artworks.id"], name=op.f("fk_sales_artwork_id_artworks")),
        sa.ForeignKeyConstraint(["event_id"], ["art_events.id"], name=op.f("fk_sales_event_id_art_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sales_idempotency_key")),
    )
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_artwork_id"), ["artwork_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_group_id"), ["group_id"], unique=False)

    op.create_table(
        "attendance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["art_events.id"], name=op.f("fk_attendance_event_id_art_events")),
        sa.ForeignKeyConstraint(
            ["registration_id"], ["registrations.id"], name=op.f("fk_attendance_registration_id_registrations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint("registration_id", name=op.f("uq_attendance_registration_id")),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendance_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "uq_attendance_drop_in",
            ["event_id"],
            unique=True,
            postgresql_where=sa.text("status = 'drop-in'"),
            sqlite_where=sa.text("status = 'drop-in'"),
        )

    op.create_table(
        "bids",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("paddle", sa.String(length=20), nullable=False),
        sa.Column("placed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["lot_id"], ["auction_lots.id"], name=op.f("fk_bids_lot_id_auction_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_bids_idempotency_key")),
        sa.UniqueConstraint("lot_id", "amount_pence", name=op.f("uq_bids_lot_id_amount_pence")),
    )


def downgrade() -> None:
    # Dependants first; a table's indexes go with it.
    op.drop_table("bids")
    op.drop_table("attendance")
    op.drop_table("sales")
    op.drop_table("registrations")
    op.drop_table("auction_lots")
    op.drop_table("art_events")
    op.drop_table("group_facilitators")
    op.drop_table("event_series")
    op.drop_table("artworks")
    op.drop_table("guests")
    op.drop_table("art_groups")
