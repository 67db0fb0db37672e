"""Migrations that carry data forward: what was booked before a revision is held after it."""

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from events.app import DEFINITION
from events.store.tables import events, places_held, registrations
from peerlink.db import create_engine


def test_places_already_booked_are_held_and_an_earlier_double_booking_does_not_stop_the_upgrade(database_url):
    DEFINITION.migrations.upgrade(database_url, "events_0004")
    now = datetime.now(UTC)
    event_id, mentee, mentor, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                events.insert().values(
                    id=event_id,
                    kind="group-session",
                    title_cy="Sesiwn",
                    title_en="Session",
                    venue="Institute",
                    starts_at=now + timedelta(days=7),
                    ends_at=now + timedelta(days=7, hours=2),
                    timezone="Europe/London",
                    capacity=10,
                    public=False,
                    drop_in=False,
                    status="scheduled",
                    places_confirmed=5,
                    queue_counter=0,
                    revision=0,
                    created_at=now,
                    updated_at=now,
                )
            )

            def booked(person, mentor_id=None, status="confirmed", minutes=0):
                conn.execute(
                    registrations.insert().values(
                        id=(made := uuid.uuid4()),
                        event_id=event_id,
                        person_id=person,
                        mentor_id=mentor_id,
                        places=2 if mentor_id else 1,
                        status=status,
                        priority=False,
                        registered_at=now + timedelta(minutes=minutes),
                    )
                )
                return made

            first = booked(mentee, mentor)
            booked(mentor, minutes=1)  # the gap this revision closes: the mentor booked again
            booked(other, minutes=2)
            booked(uuid.uuid4(), status="cancelled", minutes=3)  # holds nothing
        DEFINITION.migrations.upgrade(database_url)
        with engine.connect() as conn:
            held = {(row.person_id, row.held_as, row.registration_id) for row in conn.execute(sa.select(places_held))}
        assert {(person, role) for person, role, _ in held} == {
            (mentee, "participant"),
            (mentor, "mentor"),
            (other, "participant"),
        }
        assert {registration for person, _, registration in held if person in (mentee, mentor)} == {first}
    finally:
        engine.dispose()
