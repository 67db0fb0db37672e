"""person.erased: contact details and message bodies go, who-got-what-when stays as counts."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from notifications import commands, store
from peerlink.db import write_transaction
from peerlink.testing import find_personal_data


def test_erasure_takes_details_and_bodies_and_keeps_the_counts(engine, person, owe, deliveries):
    rhian = person(given_name="Rhian", email="rhian@example.org", phone="+447700900123", channels=("email", "sms"))
    mentor = person(audience="mentor", given_name="Gareth", email="gareth@example.org", phone=None)
    now = datetime.now(UTC)
    sent_event = owe(rhian)
    owe(rhian, kind="referral-accepted", values={"reference": "5F0C6F0E", "reentry": False})
    owe(mentor, kind="please-phone", audience="mentor", values={"about_kind": "event-reminder"}, about_id=rhian)
    with write_transaction(engine) as conn:
        for row in conn.execute(sa.select(store.deliveries)).all():
            if (row.event_id == sent_event and row.channel == "email") or row.kind == "please-phone":
                store.settle(
                    conn, row.id, status="sent", subject="Helo Rhian", body="Helo Rhian, ... Rhian", attempts=1
                )
        commands.schedule_reminder(
            conn,
            registration_id="r-1",
            art_event_id="e-1",
            recipient_id=rhian,
            audience="person",
            starts_at=now + timedelta(days=3),
            booked_at=now,
            now=now,
        )
    before = len(deliveries())

    with write_transaction(engine) as conn:
        commands.erase_person(conn, rhian, now)

    with engine.connect() as conn:
        left = "\n".join(
            str(tuple(row)) for table in (store.recipients, store.deliveries) for row in conn.execute(sa.select(table))
        )
        erased = conn.execute(sa.select(store.recipients).where(store.recipients.c.recipient_id == rhian)).one()
        reminder = conn.execute(sa.select(store.reminders)).one()
    assert find_personal_data(left, known=("Rhian",)) == ["gareth@example.org"]
    assert erased.erased_at is not None and erased.channels == []
    assert len(deliveries()) == before  # the counts stay
    statuses = sorted((d.kind, d.channel, d.status, d.reason) for d in deliveries(rhian))
    assert statuses == [
        ("referral-accepted", "email", "skipped", "person-erased"),
        ("referral-accepted", "sms", "skipped", "person-erased"),
        ("referral-acknowledged", "email", "sent", None),
        ("referral-acknowledged", "sms", "skipped", "person-erased"),
    ]
    assert reminder.status == "cancelled"
    assert "Gareth" in left  # the mentor was not erased, only what named Rhian
