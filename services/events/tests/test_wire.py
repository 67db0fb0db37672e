"""What events emits keeps its contracts, and nothing personal reaches ``peerlink.events``:
every type it produces, made by the API, published by the real relay to the real broker."""

import json
import uuid
from datetime import timedelta

from marshmallow import RAISE

from peerlink.contracts import CATALOGUE, GUEST_CONTACT_RECORDED, Channel, artevent, attendance, registration, sale
from peerlink.relay import Relay
from peerlink.testing import find_personal_data, running

PRODUCED = {t.name for module in (artevent, registration, attendance, sale) for t in module.TYPES} | {
    GUEST_CONTACT_RECORDED.name
}
GUEST = {"given_name": "Sioned", "family_name": "Pritchard", "email": "sioned@example.org", "phone": "+447700900123"}
ARTIST = "Joe Bloggs"


def every_kind_of_event(api, make_event, at_start) -> None:
    event = make_event(public=True, capacity=1)
    api.patch(f"/events/{event['id']}", {"venue": "Room 2"}, expect=200)
    first = api.post(
        f"/events/{event['id']}/registrations", {"guest": {**GUEST, "channels": ["email", "sms"]}}, expect=201
    ).get_json()
    api.post(f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
    api.post(f"/events/{event['id']}/registrations/{first['id']}/cancel", {}, expect=200)
    other = make_event(title_en="Called off")
    api.post(f"/events/{other['id']}/cancel", {"reason": "weather"}, expect=200)
    work = api.post(
        "/artworks",
        {"credit": "name", "artist_name": ARTIST, "title": "Sunrise", "artist_share_percent": 40},
        expect=201,
    ).get_json()
    sold = api.post(
        f"/events/{event['id']}/sales", {"kind": "artwork", "artwork_id": work["id"], "unit_price_pence": 4_999}
    ).get_json()
    api.post(f"/events/{event['id']}/sales/{sold['id']}/void", {"reason": "payment-failed"}, expect=200)
    at_start(event, timedelta(minutes=1))
    promoted = [r for r in api.get(f"/events/{event['id']}/registrations").get_json()["items"] if r["person_id"]]
    api.post(
        f"/events/{event['id']}/attendance", {"status": "no-show", "registration_id": promoted[0]["id"]}, expect=201
    )


def test_every_event_keeps_its_contract_and_nothing_personal_reaches_the_pseudonymous_exchange(
    api, make_event, at_start, emitted, engine, amqp_url, spy
):
    pseudonymous, private = spy("peerlink.events"), spy("peerlink.private")
    every_kind_of_event(api, make_event, at_start)
    made = emitted()
    assert {e["type"] for e in made} == PRODUCED
    for envelope in made:
        event_type = CATALOGUE[envelope["type"]]
        assert envelope["exchange"] == event_type.exchange, envelope["type"]
        assert event_type.schema(unknown=RAISE).validate(envelope["data"]) == {}, envelope
        assert envelope["source"] == "/sites/ebbw-vale/events" and envelope["correlationid"]

    with running(Relay(engine, amqp_url, service="events")):
        on_events = pseudonymous.wait_for(sum(1 for e in made if e["exchange"] == "peerlink.events"))
        on_private = private.wait_for(sum(1 for e in made if e["exchange"] == "peerlink.private"))
    known = (*GUEST.values(), ARTIST)
    for message in on_events:
        body = message.body.decode() if isinstance(message.body, bytes) else message.body
        assert find_personal_data(body, known=known) == [], body
        assert CATALOGUE[json.loads(body)["type"]].channel is Channel.EVENTS
    (contact,) = [json.loads(m.body) for m in on_private]
    assert contact["type"] == GUEST_CONTACT_RECORDED.name
    assert (contact["data"]["email"], contact["data"]["safe_to_text"]) == ("sioned@example.org", True)
    # The artist's name never leaves the service at all.
    assert all(ARTIST not in (m.body.decode() if isinstance(m.body, bytes) else m.body) for m in on_private)
