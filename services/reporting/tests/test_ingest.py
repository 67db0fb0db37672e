"""The central office's consumer on the real broker: every event once, from every site."""

import sqlalchemy as sa

from peerlink.consumer import Consumer
from peerlink.contracts import REFERRAL_RECEIVED
from peerlink.outbox import Producer
from peerlink.testing import make_envelope, publish_envelopes, running, wait_for_consumer, wait_until
from reporting import store
from reporting.handlers import subscriptions


def test_events_of_every_site_are_logged_once_and_projected(engine, amqp_url, client, reader, site_story):
    stories = [site_story("ebbw-vale"), site_story("merthyr")]
    envelopes = [e for story in stories for e in story.envelopes]
    consumer = Consumer(engine, amqp_url, subscriptions, producer=Producer("central", "reporting"), retry_delays=(0.1,))
    with running(consumer):
        wait_for_consumer(amqp_url, "reporting.inbox")
        publish_envelopes(amqp_url, envelopes)
        publish_envelopes(amqp_url, envelopes[:25])  # a link that re-sent some after a crash
        # A referral of another site whose event ids happen to equal one already seen: a different
        # source, so a different event.
        twin = make_envelope(REFERRAL_RECEIVED, site="pontypridd", service="referrals")
        publish_envelopes(amqp_url, [twin])

        def logged():
            with engine.connect() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(store.event_log)).scalar_one()

        wait_until(lambda: logged() == len(envelopes) + 1, what="every event logged")
    body = client.get("/reports/referrals?from=2026-01-01&to=2026-12-31&small_numbers=show", headers=reader).get_json()
    assert body["sites"]["ebbw-vale"]["referrals"]["received"] == 12
    assert body["sites"]["merthyr"]["referrals"]["received"] == 12
    assert logged() == len(envelopes) + 1
