"""The handlers against the real broker: what the consumer records from referrals' events."""

import pytest
import sqlalchemy as sa

from notifications.handlers import subscriptions
from notifications.store import deliveries, recipients
from peerlink.consumer import Consumer
from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED
from peerlink.outbox import Producer
from peerlink.testing import (
    count_rows,
    make_envelope,
    publish_envelopes,
    running,
    sample_data,
    wait_for_consumer,
    wait_until,
)


@pytest.fixture
def consumer(engine, amqp_url):
    worker = Consumer(
        engine, amqp_url, subscriptions, producer=Producer("ebbw-vale", "notifications"), retry_delays=(0.1, 0.2)
    )
    with running(worker):
        wait_for_consumer(amqp_url, "notifications.inbox")
        yield worker


def statuses(engine) -> list[str]:
    with engine.connect() as conn:
        return [row.status for row in conn.execute(sa.select(deliveries.c.status))]


def referral_and_contact():
    contact = sample_data(CONTACT_RECORDED)
    referral = sample_data(REFERRAL_RECEIVED, person_id=contact["person_id"])
    return (
        make_envelope(REFERRAL_RECEIVED, referral, subject=str(referral["referral_id"])),
        make_envelope(CONTACT_RECORDED, contact, subject=str(contact["person_id"])),
    )


def test_a_referral_with_known_contact_details_is_owed_an_acknowledgement(engine, amqp_url, consumer):
    received, contact = referral_and_contact()
    publish_envelopes(amqp_url, [contact, received])
    wait_until(lambda: statuses(engine) == ["pending"], what="a pending acknowledgement")
    with engine.connect() as conn:
        row = conn.execute(sa.select(deliveries)).one()
        recipient = conn.execute(sa.select(recipients)).one()
    assert row.kind == "referral-acknowledged"
    assert row.channel == "email"
    assert row.event_id == received.id
    assert recipient.email == contact.data["email"]


def test_contact_details_that_arrive_after_the_referral_make_its_message_due_at_once(engine, amqp_url, consumer):
    from datetime import UTC, datetime, timedelta

    received, contact = referral_and_contact()
    publish_envelopes(amqp_url, [received])
    wait_until(lambda: statuses(engine) == ["pending"], what="the acknowledgement owed")
    with engine.begin() as conn:  # as the dispatcher leaves it when no details are known yet
        conn.execute(deliveries.update().values(due_at=datetime.now(UTC) + timedelta(hours=1)))
    publish_envelopes(amqp_url, [contact])
    wait_until(lambda: count_rows(engine, recipients) == 1, what="the contact details stored")
    with engine.connect() as conn:
        due_at = conn.execute(sa.select(deliveries.c.due_at)).scalar_one()
    assert due_at <= datetime.now(UTC)


def test_a_redelivered_referral_is_owed_one_message(engine, amqp_url, consumer):
    received, contact = referral_and_contact()
    publish_envelopes(amqp_url, [contact, received, received, contact, received])
    last, last_contact = referral_and_contact()
    publish_envelopes(amqp_url, [last_contact, last])
    wait_until(lambda: count_rows(engine, deliveries) == 2, what="two deliveries")
    assert count_rows(engine, deliveries, deliveries.c.event_id == received.id) == 1
    assert count_rows(engine, recipients) == 2
