"""The central office's consumer on the real broker: every event once, from every site."""

import dataclasses
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from peerlink.consumer import Consumer
from peerlink.contracts import REFERRAL_RECEIVED
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
        # Event ids are unique per source (CloudEvents): an id seen again from the same source is
        # that event again, whatever it carries; from another site's source, another event.
        original = next(e for e in envelopes if e.type == REFERRAL_RECEIVED.name and e.site == "merthyr")
        again = another_referral_received(original.site, id=original.id)
        twin = another_referral_received("pontypridd", id=original.id)
        publish_envelopes(amqp_url, [again, twin])

        def logged():
            with engine.connect() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(store.event_log)).scalar_one()

        wait_until(lambda: logged() == len(envelopes) + 1, what="every event logged")
    body = client.get("/reports/referrals?from=2026-01-01&to=2026-12-31&small_numbers=show", headers=reader).get_json()
    received = {site: figures["referrals"]["received"] for site, figures in body["sites"].items()}
    assert received == {"ebbw-vale": 12, "merthyr": 12, "pontypridd": 1}
    assert logged() == len(envelopes) + 1
    referrals = store.model("referrals")
    assert count_rows(engine, referrals, referrals.c.referral_id == uuid.UUID(again.data["referral_id"])) == 0


def another_referral_received(site: str, *, id: str):
    """Another referral, in the same spring, whose event has the id given."""
    data = sample_data(REFERRAL_RECEIVED, received_at=datetime(2026, 4, 1, 9, tzinfo=UTC), counted_in_figures=True)
    return dataclasses.replace(make_envelope(REFERRAL_RECEIVED, data, site=site, service="referrals"), id=id)
