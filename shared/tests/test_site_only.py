"""Events about people who did not agree to be counted centrally stay at the site: they go to
`peerlink.site-only`, which every consumer at the site hears and the link to the central
office does not."""

import sqlalchemy as sa

from peerlink.consumer import Consumer
from peerlink.contracts import REFERRAL_RECEIVED, SITE_ONLY_EXCHANGE
from peerlink.outbox import Producer, UnitOfWork
from peerlink.relay import Relay
from peerlink.subscriptions import Subscriptions
from peerlink.tables import outbox
from peerlink.testing import running, sample_data, wait_for_consumer, wait_until


def test_a_site_only_event_reaches_the_sites_consumers_but_not_peerlink_events(engine, amqp_url, spy, producer):
    handled = []
    subscriptions = Subscriptions("testsvc")
    subscriptions.on(REFERRAL_RECEIVED)(lambda event, tx: handled.append(event.data["counted_in_figures"]))
    central_side = spy("peerlink.events")
    with UnitOfWork(engine, producer) as uow:
        uow.emit(REFERRAL_RECEIVED, subject="a", data=sample_data(REFERRAL_RECEIVED, counted_in_figures=True))
        uow.emit(
            REFERRAL_RECEIVED,
            subject="b",
            data=sample_data(REFERRAL_RECEIVED, counted_in_figures=False),
            site_only=True,
        )
        uow.commit()
    with engine.connect() as conn:
        exchanges = conn.execute(sa.select(outbox.c.exchange).order_by(outbox.c.position)).scalars().all()
    assert exchanges == ["peerlink.events", SITE_ONLY_EXCHANGE]

    consumer = Consumer(engine, amqp_url, subscriptions, producer=Producer("ebbw-vale", "testsvc"), retry_delays=(0.1,))
    with running(consumer):
        wait_for_consumer(amqp_url, "testsvc.inbox")
        with running(Relay(engine, amqp_url, service="testsvc", idle_poll=0.05)):
            wait_until(lambda: len(handled) == 2, what="both events handled at the site")
    assert sorted(handled) == [False, True]
    only = central_side.drain()
    assert len(only) == 1 and '"counted_in_figures":true' in only[0].body


def test_a_site_only_event_nobody_at_the_site_consumes_is_let_go_not_kept_as_unrouted(amqp_url):
    from peerlink.contracts import REFERRAL_MATCHED
    from peerlink.testing import make_envelope, publish_raw
    from peerlink.topology import UNROUTED_QUEUE

    kept_at_site = make_envelope(REFERRAL_MATCHED)
    publish_raw(amqp_url, SITE_ONLY_EXCHANGE, "ebbw-vale.referral.matched", [kept_at_site.to_json()])
    publish_raw(amqp_url, "peerlink.events", "ebbw-vale.referral.matched", [kept_at_site.to_json()])
    from peerlink.amqp import connect

    connection = connect(amqp_url, name="test-unrouted")
    try:
        _, waiting, _ = connection.channel().queue_declare(UNROUTED_QUEUE, passive=True)
    finally:
        connection.release()
    assert waiting == 1  # only the one on peerlink.events, where an unbound event is a bug to see
