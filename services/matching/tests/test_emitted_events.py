"""What matching emits keeps the contracts its consumers rely on, and names no one on peerlink.events."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from marshmallow import RAISE

from peerlink.contracts import CATALOGUE, EVENTS_EXCHANGE, PRIVATE_EXCHANGE, personal_fields
from peerlink.contracts.vocabulary import MATCH_END_REASONS
from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import find_personal_data

EMITTED = {
    "peerlink.mentor.registered.v1",
    "peerlink.mentor.updated.v1",
    "peerlink.mentor.paused.v1",
    "peerlink.mentor.resumed.v1",
    "peerlink.mentor.left.v1",
    "peerlink.mentor-contact.recorded.v1",
    "peerlink.match.proposed.v1",
    "peerlink.match.confirmed.v1",
    "peerlink.match.declined.v1",
    "peerlink.match.ended.v1",
    "peerlink.match.cancelled.v1",
}


def a_life_of_matches(client, tokens, register, waiting, post, body):
    """Every kind of event matching emits, through its own API and its own use cases."""
    gareth = register(person_id=str(uuid.uuid4()))
    rhiannon = register(
        gender="female", contact={**body()["contact"], "given_name": "Rhiannon", "family_name": "Bevan"}
    )
    client.patch(
        f"/mentors/{gareth['id']}", json={"capacity": 3, "contact": {"phone": "+447700900999"}}, headers=tokens.header()
    )
    declined = post("/matches", request_id=waiting(), mentor_id=gareth["id"]).get_json()
    post(f"/matches/{declined['id']}/decline", declined_by="mentor", reason="mentor-unavailable")
    ended = post("/matches", request_id=waiting(), mentor_id=gareth["id"], confirm=True).get_json()
    post(f"/matches/{ended['id']}/end", reason="completed", never_pair_again=True)
    post("/matches", request_id=waiting(), mentor_id=rhiannon["id"], confirm=True)
    post("/matches", request_id=waiting(), mentor_id=rhiannon["id"])
    waiting()
    run = post("/matching-runs").get_json()
    post(f"/matching-runs/{run['id']}/publish")
    post(f"/mentors/{rhiannon['id']}/pause", reason="health")
    post(f"/mentors/{rhiannon['id']}/resume")
    post(f"/mentors/{gareth['id']}/leave", reason="moved-on")
    return ("Gareth", "Llewellyn", "Rhiannon", "Bevan")


def test_every_event_matching_emits_validates_against_its_contract(
    client, tokens, engine, register, waiting, post, body
):
    names = a_life_of_matches(client, tokens, register, waiting, post, body)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox).order_by(outbox.c.position)).all()
    seen = {row.event_type for row in rows}
    assert seen == EMITTED, EMITTED ^ seen
    sequences = defaultdict(list)
    for row in rows:
        envelope = parse_envelope(row.body)
        event_type = CATALOGUE[envelope.type]
        assert row.exchange == event_type.exchange
        assert row.routing_key == event_type.routing_key("ebbw-vale")
        assert envelope.source == "/sites/ebbw-vale/matching" and envelope.site == "ebbw-vale"
        # What a consumer receives loads under the schema even when it refuses unknown fields.
        event_type.schema(unknown=RAISE).load(envelope.data)
        sequences[(event_type.aggregate, envelope.subject)].append(envelope.sequence)
        if row.exchange == EVENTS_EXCHANGE:
            assert personal_fields(event_type.schema) == []
            assert find_personal_data(row.body, known=names) == [], row.body
        else:
            assert row.exchange == PRIVATE_EXCHANGE and envelope.type == "peerlink.mentor-contact.recorded.v1"
    for numbers in sequences.values():
        assert numbers == list(range(1, len(numbers) + 1))


def test_referrals_gets_what_it_reads_from_match_confirmed_and_ended(
    client, tokens, engine, register, waiting, post, body
):
    a_life_of_matches(client, tokens, register, waiting, post, body)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.body).where(
                outbox.c.event_type.in_(["peerlink.match.confirmed.v1", "peerlink.match.ended.v1"])
            )
        ).scalars()
        envelopes = [parse_envelope(b) for b in rows]
    assert {e.type for e in envelopes} == {"peerlink.match.confirmed.v1", "peerlink.match.ended.v1"}
    for envelope in envelopes:
        data = CATALOGUE[envelope.type].load(envelope.data)
        assert {"referral_id", "match_id", "mentor_id", "person_id"} <= set(data)
        assert envelope.subject == str(data["match_id"])
        if envelope.type == "peerlink.match.confirmed.v1":
            assert data["confirmed_at"] is not None
        else:
            assert data["reason"] in MATCH_END_REASONS and data["ended_at"] is not None
    reasons = {CATALOGUE[e.type].load(e.data)["reason"] for e in envelopes if e.type.endswith("ended.v1")}
    assert reasons >= {"completed", "mentor-paused"}


def _exchanges_of(engine, request_id):
    """(event type, exchange) of every match event about one request, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.event_type, outbox.c.exchange, outbox.c.body)
            .where(outbox.c.event_type.like("peerlink.match.%"))
            .order_by(outbox.c.position)
        ).all()
    return [
        (row.event_type.split(".")[2], row.exchange)
        for row in rows
        if parse_envelope(row.body).data["referral_id"] == request_id
    ]


def test_every_match_event_about_someone_not_counted_centrally_stays_at_the_site(engine, register, waiting, post):
    """Each way matching emits a match event (by hand, a published run, a do-not-match, a
    withdrawn referral, an erasure, a paused mentor) sends it where the referral's own events
    went: `peerlink.site-only` for a person whose consent keeps them out of the central figures,
    `peerlink.events` for everyone else; same type, data and routing key either way."""
    from matching import commands, store
    from peerlink.outbox import Producer, UnitOfWork

    mentor, spare, pausing = (register(capacity=4)["id"] for _ in range(3))

    def story_of(counted):
        declined, ended, withdrawn, erased, paused = (waiting(counted_in_figures=counted) for _ in range(5))
        first = post("/matches", request_id=declined, mentor_id=mentor).get_json()
        post(f"/matches/{first['id']}/decline", declined_by="mentee", reason="mentee-declined")
        post(f"/requests/{declined}/do-not-match", mentor_id=spare, reason="shared-network")
        run = post("/matching-runs", request_ids=[declined]).get_json()
        post(f"/matching-runs/{run['id']}/publish")  # proposes the only mentor left ...
        post(f"/requests/{declined}/do-not-match", mentor_id=pausing, reason="family-or-friend")  # ... declined
        confirmed = post("/matches", request_id=ended, mentor_id=mentor, confirm=True).get_json()
        post(f"/matches/{confirmed['id']}/end", reason="not-a-fit")
        post("/matches", request_id=withdrawn, mentor_id=spare)
        post("/matches", request_id=erased, mentor_id=spare)
        post("/matches", request_id=paused, mentor_id=pausing, confirm=True)
        with UnitOfWork(engine, Producer("ebbw-vale", "matching")) as uow:
            commands.referral_ended(uow, uuid.UUID(withdrawn), reason="referral-withdrawn", at=datetime.now(UTC))
            person = store.get_request(uow.connection, uuid.UUID(erased)).person_id
            commands.person_erased(uow, person, at=datetime.now(UTC))
            uow.commit()
        return {"declined": declined, "ended": ended, "withdrawn": withdrawn, "erased": erased, "paused": paused}

    kept, counted = story_of(False), story_of(True)
    post(f"/mentors/{pausing}/pause", reason="health")  # ends both people's matches with this mentor

    expected = {
        "declined": ["proposed", "declined", "proposed", "declined"],
        "ended": ["proposed", "confirmed", "ended"],
        "withdrawn": ["proposed", "cancelled"],
        "erased": ["proposed", "cancelled"],
        "paused": ["proposed", "confirmed", "ended"],
    }
    for story, verbs in expected.items():
        assert _exchanges_of(engine, kept[story]) == [(v, "peerlink.site-only") for v in verbs], story
        assert _exchanges_of(engine, counted[story]) == [(v, EVENTS_EXCHANGE) for v in verbs], story
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox).where(outbox.c.event_type.like("peerlink.match.%"))).all()
        mentor_exchanges = set(
            conn.execute(sa.select(outbox.c.exchange).where(outbox.c.event_type.like("peerlink.mentor.%"))).scalars()
        )
    for row in rows:  # what is kept at the site is the event as it would have travelled
        event_type = CATALOGUE[row.event_type]
        assert row.routing_key == event_type.routing_key("ebbw-vale")
        event_type.schema(unknown=RAISE).load(parse_envelope(row.body).data)
    # Mentors are staff, not people referred: their events always go to the central office.
    assert mentor_exchanges == {EVENTS_EXCHANGE}
