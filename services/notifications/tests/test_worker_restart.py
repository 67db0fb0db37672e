"""A worker restart loses no reminder: ``peerlink-notifications work`` is killed (SIGKILL) while a
reminder is scheduled, stays down past its due time, and the next worker sends it, once."""

import json
import uuid
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
    # Rhian's referral (not part of this test) never said she agreed to be counted centrally: the
    # events about her messages stay at the site.
    central, site = spy("peerlink.events", "*.notification.*"), spy("peerlink.site-only", "*.notification.*")
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

        # An address of this test's own: other test sessions on this machine run workers too, and
        # one may reach a port this test's SMTP server took over from theirs.
        address = f"rhian-{uuid.uuid4().hex[:8]}@example.org"
        contact = sample_data(CONTACT_RECORDED, email=address, preferred_language="en", channels=["email"])
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
        wait_until(lambda: kinds_to(smtp_server, address) == ["registration-confirmed"], timeout=30, what="the email")
        # Killed with nothing in flight: the confirmation recorded, the reminder scheduled, not due.
        wait_until(lambda: [d.status for d in _deliveries(engine)] == ["sent"], timeout=30, what="recorded as sent")
        with engine.connect() as conn:
            reminder = conn.execute(sa.select(store.reminders)).one()
        assert reminder.status == "scheduled"

        worker.kill()
        due = starts - LEAD
        assert datetime.now(UTC) < due, "the worker was killed after the reminder fell due: nothing proved"
        wait_until(lambda: datetime.now(UTC) > due, timeout=30, what="the reminder's due time, worker down")
        assert kinds_to(smtp_server, address) == ["registration-confirmed"]

        processes("peerlink-notifications", "work", env=env)
        wait_until(lambda: len(kinds_to(smtp_server, address)) >= 2, timeout=30, what="the reminder")
        wait_until(lambda: all(d.status == "sent" for d in _deliveries(engine)), timeout=30, what="all recorded")
        # The reminder, and nothing twice.
        assert kinds_to(smtp_server, address) == ["event-reminder", "registration-confirmed"]
        with engine.connect() as conn:
            assert conn.execute(sa.select(store.reminders.c.status)).scalar_one() == "sent"

        # The relay published a notification.sent for each, at the site only, nothing personal in it
        # (the first worker's relay may have published one it had no time to mark: the same event
        # again, which consumers take once by its id).
        def published():
            return {e["id"]: e for e in (json.loads(m.body) for m in site.drain())}

        wait_until(lambda: len(published()) == 2, timeout=30, what="two notification.sent events")
        events = list(published().values())
        assert sorted(e["data"]["kind"] for e in events) == ["event-reminder", "registration-confirmed"]
        assert central.drain() == []
        assert {e["type"] for e in events} == {"peerlink.notification.sent.v1"}
        assert find_personal_data(json.dumps(events), known=(contact["given_name"],)) == []
    finally:
        engine.dispose()


def _deliveries(engine):
    """The emails owed (the texts were skipped when owed: Rhian agreed to email only)."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(store.deliveries).where(store.deliveries.c.channel == "email")))


def kinds_to(smtp_server, address):
    return sorted(m["X-Peerlink-Kind"] for m in smtp_server.messages if m["To"] == address)
