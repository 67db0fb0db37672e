import json
import uuid

import pytest
import sqlalchemy as sa

from peerlink.broker_admin import ManagementApi
from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED
from peerlink.envelope import CONTENT_TYPE
from peerlink.outbox import UnitOfWork
from peerlink.relay import Relay
from peerlink.tables import outbox
from peerlink.testing import count_rows, running, sample_data, wait_until


def write_events(engine, producer, plan):
    """plan: [(event_type, subject), ...] committed in one transaction; returns the envelopes."""
    with UnitOfWork(engine, producer) as uow:
        emitted = [uow.emit(t, subject=s, data=sample_data(t)) for t, s in plan]
        uow.commit()
    return emitted


def test_committed_events_are_published_in_order_with_their_properties(engine, producer, amqp_url, spy):
    public, private = spy("peerlink.events"), spy("peerlink.private")
    plan = [(REFERRAL_RECEIVED, "a"), (REFERRAL_RECEIVED, "b"), (REFERRAL_RECEIVED, "a"), (CONTACT_RECORDED, "p")]
    plan += [(REFERRAL_RECEIVED, "a")]
    emitted = write_events(engine, producer, plan)
    with running(Relay(engine, amqp_url, service="referrals")):
        received = public.wait_for(4)
        private.wait_for(1)
        wait_until(lambda: count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 0, what="rows marked sent")
    assert [m.properties["message_id"] for m in received] == [e.id for e in emitted if e.type == REFERRAL_RECEIVED.name]
    a_sequences = [json.loads(m.body)["sequence"] for m in received if json.loads(m.body)["subject"] == "a"]
    assert a_sequences == [1, 2, 3]
    first = received[0]
    assert first.properties["content_type"] == CONTENT_TYPE
    assert first.properties["delivery_mode"] == 2
    assert first.properties["type"] == REFERRAL_RECEIVED.name
    assert first.properties["correlation_id"] == emitted[0].correlationid
    assert first.properties["timestamp"]
    assert first.delivery_info["routing_key"] == "ebbw-vale.referral.received"
    assert json.loads(private.received[0].body)["type"] == CONTACT_RECORDED.name


def test_the_relay_wakes_on_a_commit_rather_than_on_its_poll(engine, producer, amqp_url, spy):
    public = spy("peerlink.events")
    write_events(engine, producer, [(REFERRAL_RECEIVED, "first")])
    with running(Relay(engine, amqp_url, service="referrals", idle_poll=120)):
        public.wait_for(1)  # the relay is connected and idle now
        write_events(engine, producer, [(REFERRAL_RECEIVED, "second")])
        # Far sooner than the two-minute poll: it was woken by the commit.
        public.wait_for(2, timeout=5)


def test_only_one_relay_publishes_from_a_database(engine, producer, amqp_url, spy):
    public = spy("peerlink.events")
    with running(
        Relay(engine, amqp_url, service="referrals", batch_size=20),
        Relay(engine, amqp_url, service="referrals", batch_size=20),
    ):
        for start in range(0, 200, 50):
            write_events(engine, producer, [(REFERRAL_RECEIVED, f"s{i % 7}") for i in range(start, start + 50)])
        public.wait_for(200)
        wait_until(lambda: count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 0, what="all sent")
    ids = [m.properties["message_id"] for m in public.drain()]
    assert len(ids) == len(set(ids)) == 200


def test_events_committed_while_the_broker_is_unreachable_wait_and_are_published(
    engine, producer, amqp_url, broker, spy
):
    # A vhost that does not exist yet: the relay cannot connect and keeps trying.
    later = f"test-{uuid.uuid4().hex[:12]}"
    url = broker.vhost_url(later)
    emitted = write_events(engine, producer, [(REFERRAL_RECEIVED, "x")] * 3)
    api = ManagementApi(broker.management_url)
    with running(Relay(engine, url, service="referrals")):
        assert count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 3
        api.ensure_vhost(later)
        try:
            public = spy("peerlink.events", url=url)
            received = public.wait_for(3, timeout=30)
        finally:
            api.delete_vhost(later)
    assert [m.properties["message_id"] for m in received] == [e.id for e in emitted]


@pytest.mark.parametrize("batch_size", [1, 7])
def test_batches_smaller_than_the_backlog_still_publish_everything(engine, producer, amqp_url, spy, batch_size):
    public = spy("peerlink.events")
    write_events(engine, producer, [(REFERRAL_RECEIVED, "agg")] * 15)
    with running(Relay(engine, amqp_url, service="referrals", batch_size=batch_size)):
        received = public.wait_for(15)
    assert [json.loads(m.body)["sequence"] for m in received] == list(range(1, 16))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))).scalar_one() == 0


def test_an_event_of_a_rolled_back_transaction_never_reaches_the_broker(engine, producer, amqp_url, spy):
    public = spy("peerlink.events")
    with UnitOfWork(engine, producer) as uow:
        uow.emit(REFERRAL_RECEIVED, subject="never", data=sample_data(REFERRAL_RECEIVED))
        # the state change fails validation: no commit
    (kept,) = write_events(engine, producer, [(REFERRAL_RECEIVED, "kept")])
    with running(Relay(engine, amqp_url, service="referrals")):
        public.wait_for(1)
        wait_until(lambda: count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 0, what="all sent")
    assert [m.properties["message_id"] for m in public.drain()] == [kept.id]
