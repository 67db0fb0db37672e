"""A worker restart loses no reminder: ``peerlink-notifications work`` is killed (SIGKILL) while a
reminder is scheduled, stays down past its due time, and the next worker sends it, once."""

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from notifications import store
from notifications.app import DEFINITION
from peerlink.contracts import ARTEVENT_SCHEDULED, CONTACT_RECORDED, REGISTRATION_CONFIRMED
from peerlink.db import create_engine
from peerlink.testing import (
    find_personal_data,
    make_envelope,
    publish_envelopes,
    sample_data,
    wait_for_consumer,
    wait_until,
)

LEAD = timedelta(hours=1)
DOWN_FOR = timedelta(seconds=2)  # from the kill to the reminder falling due


def test_a_reminder_due_while_the_worker_is_down_is_sent_once_when_it_is_back(
    database_url, amqp_url, smtp_server, processes, spy
):
    DEFINITION.migrations.upgrade(database_url)
    central = spy("peerlink.events", "*.notification.*")  # what the central office will count
    env = {
        "PEERLINK_SITE": "ebbw-vale",
        "PEERLINK_DATABASE_URL": database_url,
        "PEERLINK_AMQP_URL": amqp_url,
        "PEERLINK_SMTP_URL": smtp_server.url,
        "PEERLINK_REMINDER_BEFORE": "1h",
        "PEERLINK_RETRY_DELAYS": "200ms,1s",
    }
    engine = create_engine(database_url)
    try:
        worker = processes("peerlink-notifications", "work", env=env)
        wait_for_consumer(amqp_url, "notifications.inbox", timeout=30)

        contact = sample_data(CONTACT_RECORDED, email="rhian@example.org", preferred_language="en", channels=["email"])
        starts = datetime.now(UTC) + LEAD + DOWN_FOR + timedelta(seconds=2)
        scheduled = sample_data(ARTEVENT_SCHEDULED, starts_at=starts, ends_at=starts + timedelta(hours=2))
        booked = sample_data(
            REGISTRATION_CONFIRMED,
            event_id=scheduled["event_id"],
            person_id=contact["person_id"],
            guest_id=None,
            starts_at=starts,
            confirmed_at=datetime.now(UTC) - timedelta(days=1),
        )
        publish_envelopes(
            amqp_url,
            [
                make_envelope(CONTACT_RECORDED, contact),
                make_envelope(ARTEVENT_SCHEDULED, scheduled),
                make_envelope(REGISTRATION_CONFIRMED, booked),
            ],
        )
        (confirmation,) = smtp_server.wait_for(1, timeout=30)
        assert confirmation["X-Peerlink-Kind"] == "registration-confirmed"
        with engine.connect() as conn:
            reminder = conn.execute(sa.select(store.reminders)).one()
        assert reminder.status == "scheduled"  # not due yet: it will fall due while the worker is down

        worker.kill()
        due = starts - LEAD
        assert datetime.now(UTC) < due, "the worker was killed after the reminder fell due: nothing proved"
        wait_until(lambda: datetime.now(UTC) > due, timeout=30, what="the reminder's due time, worker down")
        assert len(smtp_server.messages) == 1

        processes("peerlink-notifications", "work", env=env)
        smtp_server.wait_for(2, timeout=30)
        wait_until(
            lambda: all(d.status != "pending" for d in _deliveries(engine)), timeout=30, what="everything settled"
        )
        kinds = sorted(m["X-Peerlink-Kind"] for m in smtp_server.messages)
        assert kinds == ["event-reminder", "registration-confirmed"]  # the reminder, and nothing twice
        with engine.connect() as conn:
            assert conn.execute(sa.select(store.reminders.c.status)).scalar_one() == "sent"
        # The relay published a notification.sent for each, with nothing personal in it.
        published = [json.loads(m.body) for m in central.wait_for(2, timeout=30)]
        assert sorted(e["data"]["kind"] for e in published) == ["event-reminder", "registration-confirmed"]
        assert {e["type"] for e in published} == {"peerlink.notification.sent.v1"}
        assert find_personal_data(json.dumps(published), known=(contact["given_name"],)) == []
    finally:
        engine.dispose()


def _deliveries(engine):
    with engine.connect() as conn:
        return list(conn.execute(sa.select(store.deliveries)))
