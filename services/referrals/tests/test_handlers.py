"""Referrals follows matching's events, through the real broker."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from peerlink.consumer import Consumer
from peerlink.contracts import MATCH_CONFIRMED, MATCH_ENDED, SITE_ONLY_EXCHANGE
from peerlink.outbox import Producer
from peerlink.parking import list_parked
from peerlink.tables import outbox
from peerlink.testing import make_envelope, publish_envelopes, running, wait_for_consumer, wait_until
from peerlink.topology import ConsumerQueues
from referrals.handlers import subscriptions
from referrals.store import transitions


@pytest.fixture
def consumer(engine, amqp_url):
    worker = Consumer(engine, amqp_url, subscriptions, producer=Producer("ebbw-vale", "referrals"), retry_delays=(0.1,))
    with running(worker):
        wait_for_consumer(amqp_url, "referrals.inbox")
        yield worker


def match_event(event_type, referral, match_id, **extra):
    data = {
        "match_id": match_id,
        "referral_id": uuid.UUID(referral["id"]),
        "person_id": uuid.UUID(referral["person_id"]),
        "mentor_id": uuid.UUID("3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"),
        **extra,
    }
    return make_envelope(event_type, data, service="matching", subject=str(match_id))


def status(client, tokens, referral):
    return client.get(f"/referrals/{referral['id']}", headers=tokens.header()).get_json()["status"]


def test_a_confirmed_match_moves_the_referral_to_matched_once(client, tokens, engine, amqp_url, consumer, create, act):
    referral = create()
    act(referral["id"], "accept")
    match_id = uuid.uuid4()
    confirmed = match_event(MATCH_CONFIRMED, referral, match_id, confirmed_at=datetime.now(UTC))
    publish_envelopes(amqp_url, [confirmed, confirmed])
    wait_until(lambda: status(client, tokens, referral) == "matched", what="the referral matched")
    # The same match confirmed again (a redelivery, or matching re-publishing) changes nothing.
    publish_envelopes(amqp_url, [match_event(MATCH_CONFIRMED, referral, match_id, confirmed_at=datetime.now(UTC))])
    wait_until(lambda: _inbox_count(engine) == 2, what="both deliveries handled")
    with engine.connect() as conn:
        actions = conn.execute(sa.select(transitions.c.action).order_by(transitions.c.at)).scalars().all()
        matched_body = conn.execute(
            sa.select(outbox.c.body).where(outbox.c.event_type == "peerlink.referral.matched.v1")
        ).scalar_one()
    assert actions == ["accept", "match"]
    assert str(match_id) in matched_body
    listed = client.get("/waiting-list", headers=tokens.header()).get_json()
    assert listed["waiting"] == 0 and listed["median_wait_days"] == 0 and listed["matches_counted"] == 1


def test_a_match_kept_at_the_site_moves_the_referral_of_someone_not_counted_centrally(
    client, tokens, engine, amqp_url, consumer, create, act, someone
):
    """Matching sends the match events of a person not counted centrally to peerlink.site-only
    only: referrals hears them there, and what it says next stays at the site too."""
    body = someone(1)
    referral = create({**body, "consent": {**body["consent"], "counted_in_figures": False}})
    act(referral["id"], "accept")
    match_id = uuid.uuid4()
    for event in (
        match_event(MATCH_CONFIRMED, referral, match_id, confirmed_at=datetime.now(UTC)),
        match_event(MATCH_ENDED, referral, match_id, reason="not-a-fit", ended_at=datetime.now(UTC)),
    ):
        publish_envelopes(amqp_url, [event], exchange=SITE_ONLY_EXCHANGE)
        wait_until(
            lambda e=event: _inbox_count(engine) == (1 if e.type.endswith("confirmed.v1") else 2), what=event.type
        )
    assert status(client, tokens, referral) == "accepted"  # matched, then back on the waiting list
    with engine.connect() as conn:
        said = conn.execute(
            sa.select(outbox.c.event_type, outbox.c.exchange).where(outbox.c.subject == referral["id"])
        ).all()
    assert {(t.split(".")[2], x) for t, x in said} == {
        (verb, SITE_ONLY_EXCHANGE) for verb in ("received", "accepted", "matched", "requeued")
    }


def _inbox_count(engine):
    from peerlink.tables import inbox

    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar_one()


def test_an_ended_match_puts_the_person_back_on_the_waiting_list(client, tokens, amqp_url, consumer, create, act):
    referral = create()
    act(referral["id"], "accept")
    match_id = uuid.uuid4()
    publish_envelopes(amqp_url, [match_event(MATCH_CONFIRMED, referral, match_id, confirmed_at=datetime.now(UTC))])
    wait_until(lambda: status(client, tokens, referral) == "matched", what="matched")
    assert act(referral["id"], "start").status_code == 200
    ended = match_event(MATCH_ENDED, referral, match_id, reason="mentor-paused", ended_at=datetime.now(UTC))
    publish_envelopes(amqp_url, [ended])
    wait_until(lambda: status(client, tokens, referral) == "accepted", what="back on the waiting list")
    waiting = client.get("/waiting-list", headers=tokens.header()).get_json()
    assert [w["referral_id"] for w in waiting["items"]] == [referral["id"]]


def test_a_match_for_a_referral_withdrawn_meanwhile_changes_nothing(
    client, tokens, engine, amqp_url, consumer, create, act
):
    referral = create()
    act(referral["id"], "accept")
    act(referral["id"], "withdraw", reason="by-person")
    publish_envelopes(amqp_url, [match_event(MATCH_CONFIRMED, referral, uuid.uuid4(), confirmed_at=datetime.now(UTC))])
    wait_until(lambda: _inbox_count(engine) == 1, what="the event handled")
    assert status(client, tokens, referral) == "withdrawn"


def test_a_match_for_an_unknown_referral_is_parked_with_the_reason(amqp_url, consumer):
    ghost = {"id": str(uuid.uuid4()), "person_id": str(uuid.uuid4())}
    publish_envelopes(amqp_url, [match_event(MATCH_CONFIRMED, ghost, uuid.uuid4(), confirmed_at=datetime.now(UTC))])
    (parked,) = wait_until(lambda: list_parked(amqp_url, ConsumerQueues("referrals", (0.1,))), what="parked")
    assert "No referral" in parked.reason


def test_mentoring_that_was_completed_leaves_the_referral_active_to_be_closed(
    client, tokens, engine, amqp_url, consumer, create, act
):
    referral = create()
    act(referral["id"], "accept")
    match_id = uuid.uuid4()
    publish_envelopes(amqp_url, [match_event(MATCH_CONFIRMED, referral, match_id, confirmed_at=datetime.now(UTC))])
    wait_until(lambda: status(client, tokens, referral) == "matched", what="matched")
    act(referral["id"], "start")
    ended = match_event(MATCH_ENDED, referral, match_id, reason="completed", ended_at=datetime.now(UTC))
    publish_envelopes(amqp_url, [ended])
    wait_until(lambda: _inbox_count(engine) == 2, what="the ending handled")
    assert status(client, tokens, referral) == "active"
    assert act(referral["id"], "close", outcome="completed").status_code == 200
