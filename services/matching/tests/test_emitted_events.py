"""What matching emits keeps the contracts its consumers rely on, and names no one on peerlink.events."""

import uuid
from collections import defaultdict

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
