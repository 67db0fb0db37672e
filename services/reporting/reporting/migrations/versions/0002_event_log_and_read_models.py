"""The event log (every site's events, once) and the read models rebuilt from it.

Revision ID: reporting_0002
Revises: reporting_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import peerlink.db

revision: str = "reporting_0002"
down_revision: str | None = "reporting_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("time", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("received_at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_event_log")),
        sa.UniqueConstraint("source", "event_id", name="uq_event_log_source_event_id"),
    )
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.create_index("ix_event_log_site_type", ["site", "event_type"], unique=False)

    op.create_table(
        "rm_advocacy",
        sa.Column("issue_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("opened_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("issue_id", name=op.f("pk_rm_advocacy")),
    )
    with op.batch_alter_table("rm_advocacy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_advocacy_site"), ["site"], unique=False)

    op.create_table(
        "rm_art_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("series_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("starts_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=True),
        sa.Column("cancelled_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_rm_art_events")),
    )
    with op.batch_alter_table("rm_art_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_art_events_site"), ["site"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_art_events_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "rm_attendance",
        sa.Column("attendance_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("registration_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=True),
        sa.Column("recorded_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("attendance_id", name=op.f("pk_rm_attendance")),
    )
    with op.batch_alter_table("rm_attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_attendance_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_attendance_site"), ["site"], unique=False)

    op.create_table(
        "rm_deliveries",
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("audience", sa.String(length=20), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=True),
        sa.Column("sent_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_rm_deliveries")),
    )
    with op.batch_alter_table("rm_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_deliveries_site"), ["site"], unique=False)

    op.create_table(
        "rm_matches",
        sa.Column("match_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("mentor_id", sa.Uuid(), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("proposed_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("declined_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("declined_by", sa.String(length=20), nullable=True),
        sa.Column("decline_reason", sa.String(length=40), nullable=True),
        sa.Column("ended_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.Column("cancelled_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("match_id", name=op.f("pk_rm_matches")),
    )
    with op.batch_alter_table("rm_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_matches_mentor_id"), ["mentor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_matches_site"), ["site"], unique=False)

    op.create_table(
        "rm_mentors",
        sa.Column("mentor_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=True),
        sa.Column("lived_experience", sa.JSON(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("registered_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.String(length=40), nullable=True),
        sa.Column("resumed_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("left_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leave_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("mentor_id", name=op.f("pk_rm_mentors")),
    )
    with op.batch_alter_table("rm_mentors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_mentors_site"), ["site"], unique=False)

    op.create_table(
        "rm_outcomes",
        sa.Column("check_in_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("scale", sa.String(length=40), nullable=True),
        sa.Column("timepoint", sa.String(length=10), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("maximum", sa.Integer(), nullable=True),
        sa.Column("baseline_score", sa.Integer(), nullable=True),
        sa.Column("change", sa.Integer(), nullable=True),
        sa.Column("weeks_since_baseline", sa.Integer(), nullable=True),
        sa.Column("recorded_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("check_in_id", name=op.f("pk_rm_outcomes")),
    )
    with op.batch_alter_table("rm_outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_outcomes_recorded_at"), ["recorded_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_outcomes_site"), ["site"], unique=False)

    op.create_table(
        "rm_people",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_rm_people")),
    )
    with op.batch_alter_table("rm_people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_people_site"), ["site"], unique=False)

    op.create_table(
        "rm_referrals",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("support_needs", sa.JSON(), nullable=True),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("self_referral", sa.Boolean(), nullable=True),
        sa.Column("known_person", sa.Boolean(), nullable=True),
        sa.Column("received_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_accepted_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_accepted_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("declined_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=40), nullable=True),
        sa.Column("withdrawn_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdraw_reason", sa.String(length=40), nullable=True),
        sa.Column("withdrawn_from", sa.String(length=20), nullable=True),
        sa.Column("first_matched_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_matched_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("activated_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("reentries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("matches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requeues", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_rm_referrals")),
    )
    with op.batch_alter_table("rm_referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_referrals_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_referrals_site"), ["site"], unique=False)

    op.create_table(
        "rm_registrations",
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("guest", sa.Boolean(), nullable=True),
        sa.Column("with_mentor", sa.Boolean(), nullable=True),
        sa.Column("places", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("waitlisted_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("promoted_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("registration_id", name=op.f("pk_rm_registrations")),
    )
    with op.batch_alter_table("rm_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_registrations_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_registrations_site"), ["site"], unique=False)

    op.create_table(
        "rm_sales",
        sa.Column("sale_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("artwork_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=True),
        sa.Column("artist_share_pence", sa.BigInteger(), nullable=True),
        sa.Column("scheme_share_pence", sa.BigInteger(), nullable=True),
        sa.Column("recorded_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("sale_id", name=op.f("pk_rm_sales")),
    )
    with op.batch_alter_table("rm_sales", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_sales_recorded_at"), ["recorded_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_sales_site"), ["site"], unique=False)

    op.create_table(
        "rm_waits",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("match_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("as_of", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("matched_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("days_waiting", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("referral_id", "match_id", name=op.f("pk_rm_waits")),
    )
    with op.batch_alter_table("rm_waits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_waits_matched_at"), ["matched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rm_waits_site"), ["site"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rm_waits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_waits_site"))
        batch_op.drop_index(batch_op.f("ix_rm_waits_matched_at"))

    op.drop_table("rm_waits")
    with op.batch_alter_table("rm_sales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_sales_site"))
        batch_op.drop_index(batch_op.f("ix_rm_sales_recorded_at"))

    op.drop_table("rm_sales")
    with op.batch_alter_table("rm_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_registrations_site"))
        batch_op.drop_index(batch_op.f("ix_rm_registrations_event_id"))

    op.drop_table("rm_registrations")
    with op.batch_alter_table("rm_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_referrals_site"))
        batch_op.drop_index(batch_op.f("ix_rm_referrals_received_at"))

    op.drop_table("rm_referrals")
    with op.batch_alter_table("rm_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_people_site"))

    op.drop_table("rm_people")
    with op.batch_alter_table("rm_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_outcomes_site"))
        batch_op.drop_index(batch_op.f("ix_rm_outcomes_recorded_at"))

    op.drop_table("rm_outcomes")
    with op.batch_alter_table("rm_mentors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_mentors_site"))

    op.drop_table("rm_mentors")
    with op.batch_alter_table("rm_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_matches_site"))
        batch_op.drop_index(batch_op.f("ix_rm_matches_mentor_id"))

    op.drop_table("rm_matches")
    with op.batch_alter_table("rm_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_deliveries_site"))

    op.drop_table("rm_deliveries")
    with op.batch_alter_table("rm_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_attendance_site"))
        batch_op.drop_index(batch_op.f("ix_rm_attendance_event_id"))

    op.drop_table("rm_attendance")
    with op.batch_alter_table("rm_art_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_art_events_starts_at"))
        batch_op.drop_index(batch_op.f("ix_rm_art_events_site"))

    op.drop_table("rm_art_events")
    with op.batch_alter_table("rm_advocacy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rm_advocacy_site"))

    op.drop_table("rm_advocacy")
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.drop_index("ix_event_log_site_type")

    op.drop_table("event_log")
