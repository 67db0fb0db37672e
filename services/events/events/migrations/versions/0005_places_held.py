"""One place per person per event, whatever their role (the participant or the mentor booked
with one): ``places_held``, filled from the registrations already active.

Revision ID: events_0005
Revises: events_0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from peerlink.db import UTCDateTime

revision: str = "events_0005"
down_revision: str | None = "events_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "places_held",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("held_as", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["art_events.id"], name=op.f("fk_places_held_event_id_art_events")),
        sa.ForeignKeyConstraint(
            ["registration_id"], ["registrations.id"], name=op.f("fk_places_held_registration_id_registrations")
        ),
        sa.PrimaryKeyConstraint("event_id", "person_id", name=op.f("pk_places_held")),
    )
    with op.batch_alter_table("places_held", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_places_held_registration_id"), ["registration_id"], unique=False)
    _hold_the_places_already_booked()


def _hold_the_places_already_booked() -> None:
    """Every active registration's participant and mentor hold their place. A person already
    booked twice at one event before this revision (the gap it closes) keeps their earliest
    place in the table; the later booking stands as it was, and cancelling it frees nothing
    held, so the migration never fails on data it cannot change by itself."""
    registrations = sa.table(
        "registrations",
        sa.column("id", sa.Uuid()),
        sa.column("event_id", sa.Uuid()),
        sa.column("person_id", sa.Uuid()),
        sa.column("mentor_id", sa.Uuid()),
        sa.column("status", sa.String()),
        sa.column("registered_at", UTCDateTime()),
    )
    places_held = sa.table(
        "places_held",
        sa.column("event_id", sa.Uuid()),
        sa.column("person_id", sa.Uuid()),
        sa.column("registration_id", sa.Uuid()),
        sa.column("held_as", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(registrations)
        .where(registrations.c.status.in_(["confirmed", "waitlisted"]))
        .order_by(registrations.c.registered_at, registrations.c.id)
    )
    held: dict[tuple[object, object], dict[str, object]] = {}
    for row in rows:
        for person, role in ((row.person_id, "participant"), (row.mentor_id, "mentor")):
            if person is not None:
                held.setdefault(
                    (row.event_id, person),
                    {"event_id": row.event_id, "person_id": person, "registration_id": row.id, "held_as": role},
                )
    if held:
        conn.execute(places_held.insert(), list(held.values()))


def downgrade() -> None:
    op.drop_table("places_held")
