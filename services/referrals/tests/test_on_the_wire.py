"""What referrals puts on the broker, read back from the broker itself: every event a
referral's life causes reaches `peerlink.events` with nothing personal in it, and contact
details travel only on `peerlink.private`."""

import json

import sqlalchemy as sa

from peerlink.contracts import CATALOGUE, PRIVATE_EXCHANGE
from peerlink.envelope import parse_envelope
from peerlink.relay import Relay
from peerlink.tables import outbox
from peerlink.testing import find_personal_data, running


def test_nothing_personal_of_anyone_referred_reaches_the_pseudonymous_exchange(
    client, tokens, engine, amqp_url, spy, create, act, someone
):
    pseudonymous, private = spy("peerlink.events"), spy(PRIVATE_EXCHANGE)
    header = tokens.header()
    # A referral's whole life, and the other things referrals emits.
    first = create(someone(1))
    act(first["id"], "accept", note="Met at the drop-in; lives with her sister")
    client.post(
        f"/referrals/{first['id']}/check-ins",
        json={"timepoint": "baseline", "answers": {"coping": 2, "connected": 1, "hopeful": 3, "health": 2}},
        headers=header,
    )
    issue = client.post(
        f"/people/{first['person_id']}/advocacy-issues",
        json={"category": "housing", "summary": "Eviction notice from her landlord on Church Street"},
        headers=header,
    ).get_json()
    client.post(
        f"/people/{first['person_id']}/advocacy-issues/{issue['id']}/resolve",
        json={"resolution": "resolved"},
        headers=header,
    )
    second = create(someone(2, source="probation"))
    act(second["id"], "decline", reason="needs-another-service", note="Wants a residential place")
    third = create(someone(3))
    act(third["id"], "withdraw", reason="by-person")
    again = create(someone(1))  # the first person referred again: linked, not created twice, not changed
    confirmed = client.post(
        f"/referrals/{again['id']}/duplicate-check/resolve", json={"decision": "same-person"}, headers=header
    )
    assert confirmed.status_code == 200  # her again: ids and codes say so, nothing of what came with it
    assert client.delete(f"/people/{second['person_id']}", headers=header).status_code == 204
    with engine.connect() as conn:
        emitted = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
        private_count = conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.exchange == PRIVATE_EXCHANGE)
        ).scalar_one()

    with running(Relay(engine, amqp_url, service="referrals", idle_poll=0.05)):
        on_events = pseudonymous.wait_for(emitted - private_count)
        on_private = private.wait_for(private_count)

    # The names, dates of birth, contact details and notes of everyone this test referred
    # (taken from what was sent: one of them has been erased since).
    sent = [someone(n)["person"] for n in (1, 2, 3)]
    notes = ("lives with her sister", "Church Street", "Eviction", "residential place")
    known = (*(p[k] for p in sent for k in ("given_name", "family_name", "date_of_birth")), *notes)
    known += tuple(p["contact"]["email"] for p in sent)
    types = set()
    for message in on_events:
        body = message.body.decode() if isinstance(message.body, bytes) else message.body
        assert find_personal_data(body, known=known) == [], body
        envelope = parse_envelope(body)
        types.add(envelope.type)
        # What travels validates against its contract, as a consumer loads it.
        CATALOGUE[envelope.type].load(envelope.data)
        assert message.properties["message_id"] == envelope.id
        assert (
            message.delivery_info["routing_key"]
            == f"ebbw-vale.{envelope.type.split('.')[1]}.{envelope.type.split('.')[2]}"
        )
    assert types == {
        "peerlink.referral.received.v1",
        "peerlink.referral.person-resolved.v1",
        "peerlink.referral.accepted.v1",
        "peerlink.referral.declined.v1",
        "peerlink.referral.withdrawn.v1",
        "peerlink.outcome.recorded.v1",
        "peerlink.advocacy.opened.v1",
        "peerlink.advocacy.resolved.v1",
        "peerlink.person.erased.v1",
    }
    # Contact details went to the private exchange only, where notifications reads them; the
    # second person was erased before the relay ran, and hers never left the site at all.
    emails = sorted(json.loads(m.body)["data"]["email"] for m in on_private)
    assert emails == ["person1@example.org", "person3@example.org"]


def test_someone_not_counted_centrally_has_their_events_kept_at_the_site(client, tokens, engine, create, act, someone):
    counted = create(someone(1))
    private_person = someone(2)
    private_person["consent"] = {**private_person["consent"], "counted_in_figures": False}
    kept = create(private_person)
    act(kept["id"], "accept")
    client.post(
        f"/people/{kept['person_id']}/advocacy-issues",
        json={"category": "debt", "summary": "x"},
        headers=tokens.header(),
    )
    act(counted["id"], "accept")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.exchange, outbox.c.event_type, outbox.c.body)).all()
    kept_at_site = {(row.event_type) for row in rows if row.exchange == "peerlink.site-only"}
    assert kept_at_site == {
        "peerlink.referral.received.v1",
        "peerlink.referral.accepted.v1",
        "peerlink.advocacy.opened.v1",
    }
    assert all(kept["person_id"] in row.body for row in rows if row.exchange == "peerlink.site-only")
    assert not any(kept["person_id"] in row.body for row in rows if row.exchange == "peerlink.events")
    assert sum(1 for row in rows if row.exchange == "peerlink.events") == 2  # the counted person's two
    # Each acceptance says so, so that matching keeps the person's matches where these went.
    said = {
        (row.exchange, parse_envelope(row.body).data["counted_in_figures"])
        for row in rows
        if row.event_type == "peerlink.referral.accepted.v1"
    }
    assert said == {("peerlink.site-only", False), ("peerlink.events", True)}
