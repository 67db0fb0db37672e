"""Mentors, match requests, matches, do-not-match lists, feedback, matching runs, the site's policy.

Revision ID: matching_0002
Revises: matching_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import peerlink.db  # the columns use peerlink.db.UTCDateTime

revision: str = "matching_0002"
down_revision: str | None = "matching_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("support_needs", sa.JSON(), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("availability", sa.JSON(), nullable=False),
        sa.Column("preferred_language", sa.String(length=2), nullable=False),
        sa.Column("mentor_gender", sa.String(length=20), nullable=False),
        sa.Column("welsh_speaking_mentor", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("reentry", sa.Boolean(), nullable=False),
        sa.Column("accepted_at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("waiting_since", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requeued_from_mentor", sa.Uuid(), nullable=True),
        sa.Column("rematch_due", sa.Boolean(), nullable=False),
        sa.Column("current_match_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_requests")),
    )
    with op.batch_alter_table("match_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_requests_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_match_requests_status"), ["status"], unique=False)

    op.create_table(
        "matching_policies",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("gender_preference", sa.String(length=10), nullable=False),
        sa.Column("stability_months", sa.Integer(), nullable=False),
        sa.Column("supervision_days", sa.Integer(), nullable=False),
        sa.Column("dbs_warning_days", sa.Integer(), nullable=False),
        sa.Column("waiting_days_full", sa.Integer(), nullable=False),
        sa.Column("set_at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_matching_policies")),
    )
    op.create_table(
        "matching_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("hold_back", sa.Integer(), nullable=False),
        sa.Column("held_back", sa.Integer(), nullable=False),
        sa.Column("requests_considered", sa.Integer(), nullable=False),
        sa.Column("mentors_considered", sa.Integer(), nullable=False),
        sa.Column("total_score", sa.Float(), nullable=False),
        sa.Column("greedy_score", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("published_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("discarded_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_runs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_matching_runs_idempotency_key")),
    )
    with op.batch_alter_table("matching_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matching_runs_status"), ["status"], unique=False)

    op.create_table(
        "mentors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_reason", sa.String(length=40), nullable=True),
        sa.Column("status_since", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("contact_language", sa.String(length=2), nullable=True),
        sa.Column("contact_channels", sa.JSON(), nullable=False),
        sa.Column("safe_to_text", sa.Boolean(), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("lived_experience", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("availability", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("dbs_checked_on", sa.Date(), nullable=True),
        sa.Column("dbs_expires_on", sa.Date(), nullable=True),
        sa.Column("training_completed_on", sa.Date(), nullable=True),
        sa.Column("last_supervision_on", sa.Date(), nullable=True),
        sa.Column("stable_since", sa.Date(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("former_participant", sa.Boolean(), nullable=False),
        sa.Column("registered_at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentors")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_mentors_idempotency_key")),
    )
    with op.batch_alter_table("mentors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentors_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mentors_status"), ["status"], unique=False)

    op.create_table(
        "do_not_match",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("mentor_id", sa.Uuid(), nullable=False),
        sa.Column("declared_by", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("match_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["mentor_id"], ["mentors.id"], name=op.f("fk_do_not_match_mentor_id_mentors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_do_not_match")),
        sa.UniqueConstraint(
            "person_id", "mentor_id", "declared_by", name=op.f("uq_do_not_match_person_id_mentor_id_declared_by")
        ),
    )
    with op.batch_alter_table("do_not_match", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_do_not_match_mentor_id"), ["mentor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_do_not_match_person_id"), ["person_id"], unique=False)

    op.create_table(
        "matches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("mentor_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("confirmed_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=100), nullable=True),
        sa.Column("declined_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("declined_by", sa.String(length=20), nullable=True),
        sa.Column("decline_reason", sa.String(length=40), nullable=True),
        sa.Column("cancelled_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.Column("ended_at", peerlink.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.Column("never_pair_again", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["mentor_id"], ["mentors.id"], name=op.f("fk_matches_mentor_id_mentors")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["match_requests.id"], name=op.f("fk_matches_request_id_match_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_matches_idempotency_key")),
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matches_mentor_id"), ["mentor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_matches_live_request",
            ["request_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('proposed', 'confirmed')"),
            postgresql_where=sa.text("status IN ('proposed', 'confirmed')"),
        )

    op.create_table(
        "run_proposals",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("mentor_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("match_id", sa.Uuid(), nullable=True),
        sa.Column("skip_reasons", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["matching_runs.id"], name=op.f("fk_run_proposals_run_id_matching_runs")),
        sa.PrimaryKeyConstraint("run_id", "request_id", name=op.f("pk_run_proposals")),
    )
    op.create_table(
        "run_unmatched",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["matching_runs.id"], name=op.f("fk_run_unmatched_run_id_matching_runs")),
        sa.PrimaryKeyConstraint("run_id", "request_id", name=op.f("pk_run_unmatched")),
    )
    op.create_table(
        "match_feedback",
        sa.Column("match_id", sa.Uuid(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("helped", sa.String(length=12), nullable=False),
        sa.Column("would_match_again", sa.Boolean(), nullable=False),
        sa.Column("ended_because", sa.String(length=40), nullable=True),
        sa.Column("recorded_at", peerlink.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_match_feedback_match_id_matches")),
        sa.PrimaryKeyConstraint("match_id", "side", name=op.f("pk_match_feedback")),
    )


def downgrade() -> None:
    op.drop_table("match_feedback")
    op.drop_table("run_unmatched")
    op.drop_table("run_proposals")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_matches_live_request",
            sqlite_where=sa.text("status IN ('proposed', 'confirmed')"),
            postgresql_where=sa.text("status IN ('proposed', 'confirmed')"),
        )
        batch_op.drop_index(batch_op.f("ix_matches_status"))
        batch_op.drop_index(batch_op.f("ix_matches_request_id"))
        batch_op.drop_index(batch_op.f("ix_matches_person_id"))
        batch_op.drop_index(batch_op.f("ix_matches_mentor_id"))

    op.drop_table("matches")
    with op.batch_alter_table("do_not_match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_do_not_match_person_id"))
        batch_op.drop_index(batch_op.f("ix_do_not_match_mentor_id"))

    op.drop_table("do_not_match")
    with op.batch_alter_table("mentors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentors_status"))
        batch_op.drop_index(batch_op.f("ix_mentors_person_id"))

    op.drop_table("mentors")
    with op.batch_alter_table("matching_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matching_runs_status"))

    op.drop_table("matching_runs")
    op.drop_table("matching_policies")
    with op.batch_alter_table("match_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_requests_status"))
        batch_op.drop_index(batch_op.f("ix_match_requests_person_id"))

    op.drop_table("match_requests")
