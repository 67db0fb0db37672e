"""Events follows ``person.erased`` through the real broker: what it held of the person goes,
the pseudonymous counts stay, and the places they leave go to the waiting list."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from events.handlers import subscriptions
from events.store.tables import (
    artworks,
    attendance,
    group_facilitators,
    lots,
    participants,
    places_held,
    registrations,
    sales,
)
from peerlink.consumer import Consumer
from peerlink.contracts import PERSON_ERASED, REFERRAL_PERSON_RESOLVED, REFERRAL_RECEIVED, SITE_ONLY_EXCHANGE
from peerlink.outbox import Producer
from peerlink.parking import list_parked
from peerlink.tables import inbox
from peerlink.testing import (
    count_rows,
    make_envelope,
    publish_envelopes,
    publish_raw,
    running,
    sample_data,
    wait_for_consumer,
    wait_until,
)
from peerlink.topology import ConsumerQueues


@pytest.fixture
def consumer(engine, amqp_url):
    worker = Consumer(engine, amqp_url, subscriptions, producer=Producer("ebbw-vale", "events"), retry_delays=(0.1,))
    with running(worker):
        wait_for_consumer(amqp_url, "events.inbox")
        yield worker


def erased(person_id: str):
    data = {"person_id": uuid.UUID(person_id), "erased_at": datetime.now(UTC)}
    return make_envelope(PERSON_ERASED, data, service="referrals", subject=person_id)


def rows(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where)).all()


def test_an_erased_person_leaves_counts_behind_and_their_place_to_the_next_in_line(
    api, make_group, make_event, clock, engine, emitted, amqp_url, consumer
):
    someone, mentee, buyer = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    real_now = clock.now
    # A session ten days ago that they attended (made with the clock set back).
    clock.set(real_now - timedelta(days=17))
    group = make_group(facilitators=[someone, str(uuid.uuid4())])
    past = make_event(capacity=5)
    came = api.post(f"/events/{past['id']}/registrations", {"person_id": someone}, expect=201).get_json()
    clock.set(datetime.fromisoformat(past["starts_at"]) + timedelta(minutes=10))
    api.post(f"/events/{past['id']}/attendance", {"status": "attended", "registration_id": came["id"]}, expect=201)
    clock.set(real_now)
    # A full session next week: their place, and someone waiting for it.
    upcoming = make_event(capacity=1)
    theirs = api.post(f"/events/{upcoming['id']}/registrations", {"person_id": someone}, expect=201).get_json()
    waiting = api.post(f"/events/{upcoming['id']}/registrations", {"person_id": buyer}, expect=201).get_json()
    # They are also a mentor booked with their mentee, and an artist with a work sold and one in an auction,
    # an hour before the erasure (the handler erases at the real time: the app's clock, at noon, may be ahead).
    clock.set(datetime.now(UTC) - timedelta(hours=1))
    booked = make_event(capacity=4)
    with_mentor = api.post(
        f"/events/{booked['id']}/registrations", {"person_id": mentee, "mentor_id": someone}, expect=201
    ).get_json()
    work = {"credit": "name", "artist_name": "Joe Bloggs", "artist_person_id": someone, "artist_share_percent": 50}
    sold = api.post("/artworks", {**work, "title": "Sold one", "group_id": group["id"]}, expect=201).get_json()
    offered = api.post("/artworks", {**work, "title": "Offered one"}, expect=201).get_json()
    sale = api.post(
        f"/events/{booked['id']}/sales", {"kind": "artwork", "artwork_id": sold["id"], "unit_price_pence": 9_000}
    ).get_json()
    lot = api.post(f"/events/{booked['id']}/lots", {"artwork_id": offered["id"]}, expect=201).get_json()

    envelope = erased(someone)
    # Their referral said they may be counted; then they are erased (twice: a duplicate delivery).
    publish_envelopes(amqp_url, [referral(someone, counted=True, received_at=datetime.now(UTC)), envelope, envelope])
    wait_until(lambda: count_rows(engine, inbox) == 2, what="referral.received and person.erased handled")

    person = uuid.UUID(someone)
    assert rows(engine, registrations, registrations.c.person_id == person) == []
    assert rows(engine, registrations, registrations.c.mentor_id == person) == []
    assert rows(engine, places_held, places_held.c.person_id == person) == []  # nor a place held by their id
    assert rows(engine, attendance, attendance.c.person_id == person) == []
    assert rows(engine, group_facilitators, group_facilitators.c.person_id == person) == []
    assert rows(engine, artworks, artworks.c.artist_person_id == person) == []
    assert rows(engine, participants, participants.c.person_id == person) == []
    # The counts stay: the past registration, its attendance, the sale and its split.
    (past_row,) = rows(engine, registrations, registrations.c.id == uuid.UUID(came["id"]))
    assert (past_row.status, past_row.places, past_row.erased_at is not None) == ("confirmed", 1, True)
    register = api.get(f"/events/{past['id']}/attendance", expect=200).get_json()
    assert register["summary"]["attended"] == 1 and register["items"][0]["attendance"]["person_id"] is None
    listed = api.get(f"/events/{booked['id']}/sales", expect=200).get_json()
    assert listed["totals"]["amount_pence"] == 9_000 and listed["items"][0]["id"] == sale["id"]
    assert api.get(f"/events/{booked['id']}/registrations/{with_mentor['id']}").get_json()["mentor_id"] is None
    # Their upcoming place went to the next in line, announced in that order.
    upcoming_now = {r["id"]: r for r in api.get(f"/events/{upcoming['id']}/registrations").get_json()["items"]}
    assert upcoming_now[theirs["id"]]["status"] == "cancelled" and upcoming_now[theirs["id"]]["person_id"] is None
    assert upcoming_now[waiting["id"]]["status"] == "confirmed"
    types = [e["type"] for e in emitted()][-2:]
    assert types == ["peerlink.registration.cancelled.v1", "peerlink.registration.promoted.v1"]
    cancelled = emitted("peerlink.registration.cancelled.v1")[-1]["data"]
    assert (cancelled["reason"], cancelled["person_id"]) == ("person-erased", someone)
    # As an artist: anonymous; what was for sale is withdrawn, what was sold stays sold.
    works = {a["id"]: a for a in api.get("/artworks", expect=200).get_json()}
    assert {(w["credit_line_en"], w["artist_name"]) for w in works.values()} == {("Anonymous artist", None)}
    assert (works[sold["id"]]["status"], works[offered["id"]]["status"]) == ("sold", "withdrawn")
    history = api.get(f"/artworks/{sold['id']}/credit-history", expect=200).get_json()
    assert [(h["credit"], h["changed_by"], h["role"]) for h in history][-1] == ("anonymous", "person.erased", "service")
    (lot_row,) = rows(engine, lots, lots.c.id == uuid.UUID(lot["id"]))
    assert lot_row.status == "withdrawn"
    assert api.get(f"/groups/{group['id']}", expect=200).get_json()["facilitators"] != [someone]
    assert len(rows(engine, sales)) == 1


def test_someone_events_never_knew_is_erased_without_a_fuss(engine, amqp_url, consumer):
    publish_envelopes(amqp_url, [erased(str(uuid.uuid4()))])
    wait_until(lambda: count_rows(engine, inbox) == 1, what="handled")
    assert list_parked(amqp_url, ConsumerQueues("events", (0.1,))) == []


def test_an_erasure_that_does_not_match_its_contract_is_parked_with_the_reason(engine, amqp_url, consumer):
    good = json.loads(erased(str(uuid.uuid4())).to_json())
    bad = {**good, "data": {**good["data"], "person_id": "Joe Bloggs"}}
    publish_raw(
        amqp_url, "peerlink.events", "ebbw-vale.person.erased", [json.dumps(bad).encode()], types=[good["type"]]
    )
    (parked,) = wait_until(lambda: list_parked(amqp_url, ConsumerQueues("events", (0.1,))), what="parked")
    assert "person_id" in parked.reason
    assert count_rows(engine, inbox) == 0


def referral(person_id: str, *, counted: bool, received_at: datetime, known_person: bool = False, referral_id=None):
    data = sample_data(
        REFERRAL_RECEIVED, counted_in_figures=counted, received_at=received_at, known_person=known_person
    )
    data = {**data, "person_id": uuid.UUID(person_id), "referral_id": referral_id or uuid.uuid4()}
    return make_envelope(REFERRAL_RECEIVED, data, service="referrals", subject=str(data["referral_id"]))


def resolved(referral_id, *, linked: str, person: str, counted: bool, received_at: datetime):
    data = sample_data(
        REFERRAL_PERSON_RESOLVED,
        referral_id=referral_id,
        person_id=uuid.UUID(person),
        linked_person_id=uuid.UUID(linked),
        resolution="same-person" if person == linked else "different-person",
        counted_in_figures=counted,
        received_at=received_at,
    )
    return make_envelope(REFERRAL_PERSON_RESOLVED, data, service="referrals", subject=str(referral_id))


def test_a_participants_registrations_reach_the_central_office_only_if_their_newest_referral_agreed(
    api, make_event, engine, emitted, amqp_url, consumer
):
    agreed, withdrew = str(uuid.uuid4()), str(uuid.uuid4())
    earlier, later = datetime.now(UTC) - timedelta(days=30), datetime.now(UTC)
    publish_envelopes(
        amqp_url,
        [
            referral(agreed, counted=True, received_at=later),
            # Their newer referral said no; it arrives first, the older yes after it: no still wins.
            referral(withdrew, counted=False, received_at=later),
            referral(withdrew, counted=True, received_at=earlier),
        ],
    )
    wait_until(lambda: count_rows(engine, inbox) == 3, what="three referrals handled")
    event = make_event(capacity=5)
    for person in (agreed, withdrew):
        api.post(f"/events/{event['id']}/registrations", {"person_id": person}, expect=201)
    confirmed = {e["data"]["person_id"]: e["exchange"] for e in emitted("peerlink.registration.confirmed.v1")}
    assert confirmed == {agreed: "peerlink.events", withdrew: SITE_ONLY_EXCHANGE}


def test_a_possible_duplicates_consent_speaks_for_nobody_until_a_coordinator_says_whose_it_is(
    api, make_event, engine, emitted, amqp_url, consumer
):
    """A referral linked to Rhian (``known_person``) may be a namesake's, or sent in her name
    by anyone: its consent to be counted is taken only once resolved, and for whoever it is."""
    rhian, namesake, joe = (str(uuid.uuid4()) for _ in range(3))
    earlier, later = datetime.now(UTC) - timedelta(days=30), datetime.now(UTC)
    maybe_hers, not_hers, joes = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    publish_envelopes(
        amqp_url,
        [
            referral(rhian, counted=True, received_at=earlier),
            # Newer, linked to her, saying no: not hers yet, so her own yes stands.
            referral(rhian, counted=False, received_at=later, known_person=True, referral_id=maybe_hers),
            # Another linked to her, a namesake's as the coordinator says: their consent, not hers.
            referral(rhian, counted=True, received_at=later, known_person=True, referral_id=not_hers),
            resolved(not_hers, linked=rhian, person=namesake, counted=True, received_at=later),
            # Joe's answer arrives before his referral: the order does not matter.
            resolved(joes, linked=joe, person=joe, counted=True, received_at=later),
            referral(joe, counted=True, received_at=later, known_person=True, referral_id=joes),
        ],
    )
    wait_until(lambda: count_rows(engine, inbox) == 6, what="six referral events handled")

    def where_registrations_go(*people):
        event = make_event(capacity=5)
        for person in people:
            api.post(f"/events/{event['id']}/registrations", {"person_id": person}, expect=201)
        confirmed = emitted("peerlink.registration.confirmed.v1")
        return {p: next(e["exchange"] for e in reversed(confirmed) if e["data"]["person_id"] == p) for p in people}

    assert where_registrations_go(rhian, namesake, joe) == {
        rhian: "peerlink.events",
        namesake: "peerlink.events",
        joe: "peerlink.events",
    }
    # The first one was hers after all: her newest referral says no from now on.
    publish_envelopes(amqp_url, [resolved(maybe_hers, linked=rhian, person=rhian, counted=False, received_at=later)])
    wait_until(lambda: count_rows(engine, inbox) == 7, what="the answer handled")
    assert where_registrations_go(rhian) == {rhian: SITE_ONLY_EXCHANGE}
