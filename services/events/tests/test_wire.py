"""What events emits keeps its contracts, and nothing personal reaches ``peerlink.events``:
every type it produces, made by the API, published by the real relay to the real broker.
What is said about a participant who is not counted centrally goes to ``peerlink.site-only``."""

import json
import uuid
from datetime import timedelta

from marshmallow import RAISE

from events import commands
from peerlink.contracts import (
    CATALOGUE,
    GUEST_CONTACT_RECORDED,
    SITE_ONLY_EXCHANGE,
    Channel,
    artevent,
    attendance,
    registration,
    sale,
)
from peerlink.outbox import Producer, UnitOfWork
from peerlink.relay import Relay
from peerlink.testing import find_personal_data, running

PRODUCED = {t.name for module in (artevent, registration, attendance, sale) for t in module.TYPES} | {
    GUEST_CONTACT_RECORDED.name
}
GUEST = {"given_name": "Sioned", "family_name": "Pritchard", "email": "sioned@example.org", "phone": "+447700900123"}
ARTIST = "Joe Bloggs"


COUNTED = uuid.uuid4()  # a participant whose referral agreed to be counted centrally
NOT_COUNTED = uuid.uuid4()  # one whose referral did not
UNKNOWN = uuid.uuid4()  # one events has not (yet) heard a referral of


def every_kind_of_event(api, make_event, at_start, engine, clock) -> None:
    with UnitOfWork(engine, Producer("ebbw-vale", "events")) as uow:
        commands.record_consent(uow, COUNTED, counted=True, as_of=clock.now)
        commands.record_consent(uow, NOT_COUNTED, counted=False, as_of=clock.now)
        uow.commit()
    event = make_event(public=True, capacity=1)
    api.patch(f"/events/{event['id']}", {"venue": "Room 2"}, expect=200)
    first = api.post(
        f"/events/{event['id']}/registrations", {"guest": {**GUEST, "channels": ["email", "sms"]}}, expect=201
    ).get_json()
    for person in (COUNTED, NOT_COUNTED, UNKNOWN):
        api.post(f"/events/{event['id']}/registrations", {"person_id": str(person)}, expect=201)
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
    listed = api.get(f"/events/{event['id']}/registrations?status=confirmed").get_json()["items"]
    (promoted,) = [r for r in listed if r["person_id"] == str(COUNTED)]
    api.post(f"/events/{event['id']}/attendance", {"status": "no-show", "registration_id": promoted["id"]}, expect=201)


def text(message) -> str:
    return message.body.decode() if isinstance(message.body, bytes) else message.body


def test_every_event_keeps_its_contract_and_nothing_personal_reaches_the_pseudonymous_exchange(
    api, make_event, at_start, emitted, engine, clock, amqp_url, spy
):
    pseudonymous, private, site_only = spy("peerlink.events"), spy("peerlink.private"), spy(SITE_ONLY_EXCHANGE)
    every_kind_of_event(api, make_event, at_start, engine, clock)
    made = emitted()
    assert {e["type"] for e in made} == PRODUCED
    for envelope in made:
        event_type = CATALOGUE[envelope["type"]]
        kept = envelope["data"].get("person_id") in (str(NOT_COUNTED), str(UNKNOWN))
        assert envelope["exchange"] == (SITE_ONLY_EXCHANGE if kept else event_type.exchange), envelope
        assert event_type.schema(unknown=RAISE).validate(envelope["data"]) == {}, envelope
        assert envelope["source"] == "/sites/ebbw-vale/events" and envelope["correlationid"]
    kept_for = {e["data"]["person_id"] for e in made if e["exchange"] == SITE_ONLY_EXCHANGE}
    assert kept_for == {str(NOT_COUNTED), str(UNKNOWN)}

    with running(Relay(engine, amqp_url, service="events")):
        on_events = pseudonymous.wait_for(sum(1 for e in made if e["exchange"] == "peerlink.events"))
        on_private = private.wait_for(sum(1 for e in made if e["exchange"] == "peerlink.private"))
        kept_at_site = site_only.wait_for(sum(1 for e in made if e["exchange"] == SITE_ONLY_EXCHANGE))
    known = (*GUEST.values(), ARTIST)
    for message in on_events:
        assert find_personal_data(text(message), known=known) == [], text(message)
        assert CATALOGUE[json.loads(text(message))["type"]].channel is Channel.EVENTS
    towards_the_centre = "".join(text(m) for m in on_events)
    assert str(COUNTED) in towards_the_centre
    assert str(NOT_COUNTED) not in towards_the_centre and str(UNKNOWN) not in towards_the_centre
    assert len(kept_at_site) == len([e for e in made if e["exchange"] == SITE_ONLY_EXCHANGE])
    (contact,) = [json.loads(text(m)) for m in on_private]
    assert contact["type"] == GUEST_CONTACT_RECORDED.name
    assert (contact["data"]["email"], contact["data"]["safe_to_text"]) == ("sioned@example.org", True)
    # The artist's name never leaves the service at all.
    assert all(ARTIST not in text(m) for m in [*on_private, *kept_at_site])
