"""The events service's own tables (Alembic's target, with the messaging tables)."""

import sqlalchemy as sa

from peerlink.audit import audit_table
from peerlink.db import UTCDateTime, new_metadata

metadata = new_metadata()

# Who read or changed a public guest's record (ids and staff only: peerlink.audit).
audit_log = audit_table(metadata)

_ACTIVE_SQL = sa.text("status IN ('confirmed', 'waitlisted')")

groups = sa.Table(
    "art_groups",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name_cy", sa.String(120), nullable=False),
    sa.Column("name_en", sa.String(120), nullable=False),
    sa.Column("usual_venue", sa.String(200), nullable=False),
    sa.Column("accessibility_cy", sa.Text),
    sa.Column("accessibility_en", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

group_facilitators = sa.Table(
    "group_facilitators",
    metadata,
    sa.Column("group_id", sa.Uuid, sa.ForeignKey("art_groups.id"), primary_key=True),
    sa.Column("person_id", sa.Uuid, primary_key=True, index=True),
    sa.Column("position", sa.Integer, nullable=False),
)

series = sa.Table(
    "event_series",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("group_id", sa.Uuid, sa.ForeignKey("art_groups.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("title_cy", sa.String(200), nullable=False),
    sa.Column("title_en", sa.String(200), nullable=False),
    sa.Column("description_cy", sa.Text),
    sa.Column("description_en", sa.Text),
    sa.Column("venue", sa.String(200), nullable=False),
    sa.Column("capacity", sa.Integer),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("drop_in", sa.Boolean, nullable=False),
    sa.Column("rule", sa.String(500), nullable=False),
    # The first session as the clock on the wall shows it (DTSTART;TZID=...), not an instant.
    sa.Column("first_wall", sa.DateTime(timezone=False), nullable=False),
    sa.Column("duration_minutes", sa.Integer, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("horizon_weeks", sa.Integer, nullable=False),
    sa.Column("scheduled_until", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime()),
    sa.Column("end_reason", sa.String(40)),
)

events = sa.Table(
    "art_events",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("group_id", sa.Uuid, sa.ForeignKey("art_groups.id"), index=True),
    sa.Column("series_id", sa.Uuid, sa.ForeignKey("event_series.id")),
    sa.Column("occurrence_start", UTCDateTime()),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("title_cy", sa.String(200), nullable=False),
    sa.Column("title_en", sa.String(200), nullable=False),
    sa.Column("description_cy", sa.Text),
    sa.Column("description_en", sa.Text),
    sa.Column("venue", sa.String(200), nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("capacity", sa.Integer),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("drop_in", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("cancel_reason", sa.String(40)),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.Column("places_confirmed", sa.Integer, nullable=False),
    sa.Column("queue_counter", sa.Integer, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # An occurrence of a series is made once, however often the scheduler runs.
    sa.UniqueConstraint("series_id", "occurrence_start"),
    sa.CheckConstraint("places_confirmed >= 0", name="places_not_negative"),
)

guests = sa.Table(
    "guests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("family_name", sa.String(100)),
    sa.Column("email", sa.String(254)),
    sa.Column("email_key", sa.String(254), unique=True),
    sa.Column("phone", sa.String(32)),
    sa.Column("preferred_language", sa.String(2)),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("erased_at", UTCDateTime()),
)

registrations = sa.Table(
    "registrations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("event_id", sa.Uuid, sa.ForeignKey("art_events.id"), nullable=False),
    sa.Column("person_id", sa.Uuid, index=True),
    sa.Column("guest_id", sa.Uuid, sa.ForeignKey("guests.id"), index=True),
    sa.Column("mentor_id", sa.Uuid, index=True),
    sa.Column("places", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("priority", sa.Boolean, nullable=False),
    sa.Column("queue_number", sa.Integer),
    sa.Column("registered_at", UTCDateTime(), nullable=False),
    sa.Column("confirmed_at", UTCDateTime()),
    sa.Column("waitlisted_at", UTCDateTime()),
    sa.Column("promoted_at", UTCDateTime()),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.Column("cancel_reason", sa.String(40)),
    sa.Column("was", sa.String(12)),
    sa.Column("erased_at", UTCDateTime()),
    # A client's Idempotency-Key: the same key again returns this registration, never a second.
    sa.Column("idempotency_key", sa.String(100), unique=True),
    sa.Column("request_fingerprint", sa.String(64)),
    # The waiting list in its order, and where one stands in it, read from the index alone.
    sa.Index("ix_registrations_event_id_status", "event_id", "status", "priority", "queue_number"),
    # No double registration, whatever the application does (NULLs never collide).
    sa.Index(
        "uq_registrations_active_person",
        "event_id",
        "person_id",
        unique=True,
        postgresql_where=_ACTIVE_SQL,
        sqlite_where=_ACTIVE_SQL,
    ),
    sa.Index(
        "uq_registrations_active_guest",
        "event_id",
        "guest_id",
        unique=True,
        postgresql_where=_ACTIVE_SQL,
        sqlite_where=_ACTIVE_SQL,
    ),
    sa.CheckConstraint("person_id IS NULL OR guest_id IS NULL", name="one_registrant"),
)

# Who holds a place at an event: a row per person named on an active registration, as its
# participant or as the mentor booked with them. Its primary key refuses anyone a second place
# at one event in either role (a mentor booked with two mentees, or with a mentee and again on
# their own), which no unique index on ``registrations`` can, its two columns being separate.
places_held = sa.Table(
    "places_held",
    metadata,
    sa.Column("event_id", sa.Uuid, sa.ForeignKey("art_events.id"), primary_key=True),
    sa.Column("person_id", sa.Uuid, primary_key=True),
    sa.Column("registration_id", sa.Uuid, sa.ForeignKey("registrations.id"), nullable=False, index=True),
    sa.Column("held_as", sa.String(12), nullable=False),  # participant | mentor
)

attendance = sa.Table(
    "attendance",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("event_id", sa.Uuid, sa.ForeignKey("art_events.id"), nullable=False, index=True),
    sa.Column("registration_id", sa.Uuid, sa.ForeignKey("registrations.id"), unique=True),
    sa.Column("person_id", sa.Uuid, index=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("headcount", sa.Integer, nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    # A no-show the scheduler assumed because the registration was still unmarked a while after
    # the end; marking it by hand later corrects it like any other record.
    sa.Column("assumed", sa.Boolean, nullable=False, server_default=sa.false()),
    # One drop-in count per event: recording it again corrects it.
    sa.Index(
        "uq_attendance_drop_in",
        "event_id",
        unique=True,
        postgresql_where=sa.text("status = 'drop-in'"),
        sqlite_where=sa.text("status = 'drop-in'"),
    ),
)

artworks = sa.Table(
    "artworks",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("group_id", sa.Uuid, sa.ForeignKey("art_groups.id"), index=True),
    sa.Column("artist_person_id", sa.Uuid, index=True),
    sa.Column("credit", sa.String(12), nullable=False),
    sa.Column("artist_name", sa.String(100)),
    sa.Column("pseudonym", sa.String(100)),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("medium", sa.String(100)),
    sa.Column("artist_share_percent", sa.Integer, nullable=False),
    sa.Column("print_run", sa.Integer),
    sa.Column("cards_sold", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("consent_recorded_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("artist_share_percent BETWEEN 0 AND 100", name="share_is_a_percentage"),
    sa.CheckConstraint("print_run IS NULL OR cards_sold <= print_run", name="cards_within_print_run"),
)

# Each change of how an artwork's artist agreed to be credited: to what, when, and by whom (the
# token's label and role, or the message that made it). The name itself is never kept here, so a
# withdrawn consent leaves no copy of it behind.
credit_changes = sa.Table(
    "artwork_credit_changes",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("artwork_id", sa.Uuid, sa.ForeignKey("artworks.id"), nullable=False, index=True),
    sa.Column("credit", sa.String(12), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
    sa.Column("changed_by", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
)

lots = sa.Table(
    "auction_lots",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("event_id", sa.Uuid, sa.ForeignKey("art_events.id"), nullable=False),
    sa.Column("artwork_id", sa.Uuid, sa.ForeignKey("artworks.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("reserve_pence", sa.Integer),
    sa.Column("opening_pence", sa.Integer),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("winning_bid_id", sa.Uuid),
    sa.Column("sale_id", sa.Uuid),
    sa.UniqueConstraint("event_id", "number"),
)

bids = sa.Table(
    "bids",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("lot_id", sa.Uuid, sa.ForeignKey("auction_lots.id"), nullable=False),
    sa.Column("amount_pence", sa.Integer, nullable=False),
    sa.Column("paddle", sa.String(20), nullable=False),
    sa.Column("placed_at", UTCDateTime(), nullable=False),
    sa.Column("idempotency_key", sa.String(100), unique=True),
    sa.Column("request_fingerprint", sa.String(64)),
    sa.UniqueConstraint("lot_id", "amount_pence"),
)

sales = sa.Table(
    "sales",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("event_id", sa.Uuid, sa.ForeignKey("art_events.id"), nullable=False, index=True),
    sa.Column("group_id", sa.Uuid, index=True),
    sa.Column("artwork_id", sa.Uuid, sa.ForeignKey("artworks.id"), index=True),
    sa.Column("lot_id", sa.Uuid),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price_pence", sa.Integer, nullable=False),
    sa.Column("amount_pence", sa.Integer, nullable=False),
    sa.Column("artist_share_pence", sa.Integer, nullable=False),
    sa.Column("scheme_share_pence", sa.Integer, nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("voided_at", UTCDateTime()),
    sa.Column("void_reason", sa.String(40)),
    sa.Column("idempotency_key", sa.String(100), unique=True),
    sa.Column("request_fingerprint", sa.String(64)),
    sa.CheckConstraint("artist_share_pence + scheme_share_pence = amount_pence", name="shares_add_up"),
    sa.CheckConstraint("artist_share_pence >= 0 AND scheme_share_pence >= 0", name="shares_not_negative"),
)

# Whether each participant's referral lets the central office count them (from
# ``referral.received``): their registrations and attendance go to ``peerlink.site-only`` unless
# the newest of their referrals said yes.
participants = sa.Table(
    "participants",
    metadata,
    sa.Column("person_id", sa.Uuid, primary_key=True),
    sa.Column("counted_in_figures", sa.Boolean, nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),
)
