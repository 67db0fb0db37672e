"""Registration: confirmed while places last, a waiting list promoted in order, no double
registration, closed at the start; guests' details only where they belong."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from events import store
from events.domain.registration import Registration, Status
from events.scheduler import Scheduler
from peerlink.outbox import Producer

LONDON = ZoneInfo("Europe/London")


def person() -> str:
    return str(uuid.uuid4())


def register(api, event, expect=201, **body):
    return api.post(f"/events/{event['id']}/registrations", body, expect=expect).get_json()


def guest(name="Sioned", email="sioned@example.org", **more):
    return {"given_name": name, "email": email, **more}


def statuses(api, event):
    items = api.get(f"/events/{event['id']}/registrations", expect=200).get_json()["items"]
    return [(r["person_id"] or r["guest_id"], r["status"], r["position"]) for r in items]


def test_places_are_confirmed_while_they_last_then_the_waiting_list_fills_in_order(api, make_event, emitted):
    event = make_event(capacity=2)
    people = [person() for _ in range(4)]
    made = [register(api, event, person_id=p) for p in people]
    assert [(r["status"], r["position"]) for r in made] == [
        ("confirmed", None),
        ("confirmed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    now = api.get(f"/events/{event['id']}", expect=200).get_json()
    assert (now["places_confirmed"], now["places_left"], now["waiting"]) == (2, 0, 2)
    types = [e["type"] for e in emitted() if e["type"].startswith("peerlink.registration")]
    assert types == ["peerlink.registration.confirmed.v1"] * 2 + ["peerlink.registration.waitlisted.v1"] * 2
    waitlisted = emitted("peerlink.registration.waitlisted.v1")
    assert [e["data"]["position"] for e in waitlisted] == [1, 2]
    starts = datetime.fromisoformat(event["starts_at"])
    assert datetime.fromisoformat(waitlisted[0]["data"]["starts_at"]) == starts  # reminders need it
    assert starts.astimezone(LONDON).hour == 10


def test_a_cancellation_promotes_the_next_on_the_list_automatically(api, make_event, emitted):
    event = make_event(capacity=2)
    first, second, third, fourth = (register(api, event, person_id=person()) for _ in range(4))
    cancelled = api.post(
        f"/events/{event['id']}/registrations/{first['id']}/cancel", {"reason": "by-participant"}, expect=200
    ).get_json()
    assert cancelled["status"] == "cancelled"
    assert statuses(api, event) == [
        (second["person_id"], "confirmed", None),
        (third["person_id"], "confirmed", None),
        (fourth["person_id"], "waitlisted", 1),
        (first["person_id"], "cancelled", None),
    ]
    (promoted,) = emitted("peerlink.registration.promoted.v1")
    assert promoted["data"]["registration_id"] == third["id"]
    (gone,) = emitted("peerlink.registration.cancelled.v1")
    assert (gone["data"]["was"], gone["data"]["reason"]) == ("confirmed", "by-participant")
    # Cancelling again changes nothing and says nothing more.
    api.post(f"/events/{event['id']}/registrations/{first['id']}/cancel", {}, expect=200)
    assert len(emitted("peerlink.registration.cancelled.v1")) == 1
    # A waiting registration cancelled frees no place and promotes nobody.
    api.post(f"/events/{event['id']}/registrations/{fourth['id']}/cancel", {}, expect=200)
    assert len(emitted("peerlink.registration.promoted.v1")) == 1


def test_nobody_registers_twice_for_one_event(api, make_event):
    event = make_event(capacity=1)
    someone = person()
    first = register(api, event, person_id=someone)
    again = api.post(f"/events/{event['id']}/registrations", {"person_id": someone}, expect=409).get_json()
    assert again["registration_id"] == first["id"] and again["registration_status"] == "confirmed"
    public = make_event(public=True, capacity=1)
    register(api, public, guest=guest())
    register(api, public, guest=guest(name="Rhys", email="rhys@example.org"))  # waits
    # The same guest by email, whatever its case, is the same guest.
    twice = api.post(
        f"/events/{public['id']}/registrations", {"guest": guest(email="SIONED@Example.org")}, expect=409
    ).get_json()
    assert twice["registration_status"] == "confirmed"
    # Once cancelled, they may register again (and join the back of the queue).
    api.post(f"/events/{event['id']}/registrations/{first['id']}/cancel", {}, expect=200)
    assert register(api, event, person_id=someone)["status"] == "confirmed"


def test_registration_closes_at_the_start_and_so_do_cancellations(api, make_event, at_start):
    event = make_event(capacity=5)
    early = register(api, event, person_id=person())
    at_start(event)  # the very moment it starts
    refused = api.post(f"/events/{event['id']}/registrations", {"person_id": person()}, expect=409).get_json()
    assert refused["code"] == "registration-closed"
    late = api.post(f"/events/{event['id']}/registrations/{early['id']}/cancel", {}, expect=409).get_json()
    assert "no-show" in late["detail"]


def test_cancelled_drop_in_and_participants_only_events_refuse_what_they_cannot_take(api, make_event):
    private = make_event(public=False)
    refused = api.post(f"/events/{private['id']}/registrations", {"guest": guest()}, expect=422).get_json()
    assert refused["errors"][0]["pointer"] == "/guest"
    drop_in = make_event(drop_in=True, capacity=None)
    assert api.post(f"/events/{drop_in['id']}/registrations", {"person_id": person()}, expect=409).get_json()[
        "code"
    ] == ("drop-in")
    cancelled = make_event()
    api.post(f"/events/{cancelled['id']}/cancel", {"reason": "weather"}, expect=200)
    assert (
        api.post(f"/events/{cancelled['id']}/registrations", {"person_id": person()}, expect=409).get_json()["code"]
        == "event-cancelled"
    )
    api.post(f"/events/{uuid.uuid4()}/registrations", {"person_id": person()}, expect=404)


def test_a_mentee_and_their_mentor_are_booked_together_and_move_up_together(api, make_event, emitted):
    event = make_event(capacity=3)
    first, second = register(api, event, person_id=person()), register(api, event, person_id=person())
    mentee, mentor = person(), person()
    booked = register(api, event, person_id=mentee, mentor_id=mentor)
    assert (booked["status"], booked["places"], booked["mentor_id"]) == ("waitlisted", 2, mentor)
    # The one place left fits a single, who takes it (as a single waiting behind the pair would).
    assert register(api, event, person_id=person())["status"] == "confirmed"
    api.post(f"/events/{event['id']}/registrations/{first['id']}/cancel", {}, expect=200)
    pair = api.get(f"/events/{event['id']}/registrations/{booked['id']}", expect=200).get_json()
    assert (pair["status"], pair["position"]) == ("waitlisted", 1)  # one place is not enough for two
    api.post(f"/events/{event['id']}/registrations/{second['id']}/cancel", {}, expect=200)
    pair = api.get(f"/events/{event['id']}/registrations/{booked['id']}", expect=200).get_json()
    assert pair["status"] == "confirmed"
    (promoted,) = emitted("peerlink.registration.promoted.v1")
    assert promoted["data"]["mentor_id"] == mentor and promoted["data"]["places"] == 2
    refused = api.post(
        f"/events/{event['id']}/registrations", {"person_id": person(), "mentor_id": mentor, "places": 1}, expect=422
    ).get_json()
    assert refused["errors"][0]["pointer"] == "/places"


def test_nobody_holds_two_places_at_one_event_as_participant_or_as_mentor(api, make_event, engine):
    event = make_event(capacity=10)
    mentee, mentor, second_mentee = person(), person(), person()
    booked = register(api, event, person_id=mentee, mentor_id=mentor)

    def refused(body, held_as, holder):
        problem = api.post(f"/events/{event['id']}/registrations", body, expect=409).get_json()
        assert (problem["title"], problem["registration_id"], problem["registration_status"]) == (
            "Already registered",
            booked["id"],
            "confirmed",
        )
        assert (problem["person_id"], problem["held_as"]) == (holder, held_as), problem
        return problem["detail"]

    # The mentor booked with a mentee cannot also register themselves, nor come again with another mentee.
    assert "as the mentor booked with another participant" in refused({"person_id": mentor}, "mentor", mentor)
    assert "book this participant without them" in refused(
        {"person_id": second_mentee, "mentor_id": mentor}, "mentor", mentor
    )
    # Nor can the mentee come again as someone else's mentor.
    assert "registered as a participant" in refused({"person_id": person(), "mentor_id": mentee}, "participant", mentee)
    places = api.get(f"/events/{event['id']}/registrations", expect=200).get_json()
    assert (places["places_confirmed"], len(places["items"])) == (2, 1)
    # Once the pair cancels, the mentor's place is theirs to take again, in either role.
    api.post(f"/events/{event['id']}/registrations/{booked['id']}/cancel", {}, expect=200)
    assert register(api, event, person_id=second_mentee, mentor_id=mentor)["status"] == "confirmed"
    assert register(api, event, person_id=mentee)["status"] == "confirmed"
    # Another event is another place.
    assert register(api, make_event(), person_id=mentor)["status"] == "confirmed"
    # The database itself (places_held) refuses what a booking that skipped the check would do.
    now = datetime.now(UTC)
    second = Registration(
        id=uuid.uuid4(),
        event_id=uuid.UUID(event["id"]),
        person_id=uuid.uuid4(),
        guest_id=None,
        mentor_id=uuid.UUID(mentor),
        places=2,
        status=Status.CONFIRMED,
        priority=False,
        queue_number=None,
        registered_at=now,
        confirmed_at=now,
    )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        store.places.add_registration(conn, second)
    alone = replace(second, id=uuid.uuid4(), person_id=uuid.UUID(mentor), mentor_id=None, places=1)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        store.places.add_registration(conn, alone)


def test_a_party_that_does_not_fit_keeps_its_turn_while_a_single_behind_it_takes_one_place(api, make_event):
    event = make_event(capacity=2)
    holders = [register(api, event, person_id=person()) for _ in range(2)]
    family = register(api, event, person_id=person(), places=3)
    single = register(api, event, person_id=person())
    assert (family["position"], single["position"]) == (1, 2)
    api.post(f"/events/{event['id']}/registrations/{holders[0]['id']}/cancel", {}, expect=200)
    listed = {r["id"]: r for r in api.get(f"/events/{event['id']}/registrations", expect=200).get_json()["items"]}
    assert listed[single["id"]]["status"] == "confirmed"
    assert (listed[family["id"]]["status"], listed[family["id"]]["position"]) == ("waitlisted", 1)
    # More places: the family is first again.
    api.patch(f"/events/{event['id']}", {"capacity": 5}, expect=200)
    assert api.get(f"/events/{event['id']}/registrations/{family['id']}", expect=200).get_json()["status"] == (
        "confirmed"
    )


def test_a_first_time_participant_waits_ahead_of_those_who_have_come_before(api, make_event, at_start):
    regular = person()
    past = make_event(capacity=5)
    came = register(api, past, person_id=regular)
    at_start(past, timedelta(hours=1))
    api.post(f"/events/{past['id']}/attendance", {"status": "attended", "registration_id": came["id"]}, expect=201)
    event = make_event(capacity=1)
    register(api, event, person_id=person())
    waiting_regular = register(api, event, person_id=regular)
    newcomer = register(api, event, person_id=person())
    assert (waiting_regular["priority"], newcomer["priority"]) == (False, True)
    assert newcomer["position"] == 1
    assert api.get(f"/events/{event['id']}/registrations/{waiting_regular['id']}", expect=200).get_json()[
        "position"
    ] == (2)


def test_more_places_promote_the_waiting_list_and_fewer_never_remove_anyone(api, make_event, emitted):
    event = make_event(capacity=1)
    made = [register(api, event, person_id=person()) for _ in range(3)]
    api.patch(f"/events/{event['id']}", {"capacity": 2}, expect=200)
    assert [s for _, s, _ in statuses(api, event)] == ["confirmed", "confirmed", "waitlisted"]
    api.patch(f"/events/{event['id']}", {"capacity": 1}, expect=200)
    assert [s for _, s, _ in statuses(api, event)] == ["confirmed", "confirmed", "waitlisted"]
    opened = api.patch(f"/events/{event['id']}", {"capacity": None}, expect=200).get_json()
    assert opened["places_left"] is None
    assert api.get(f"/events/{event['id']}/registrations/{made[2]['id']}", expect=200).get_json()["status"] == (
        "confirmed"
    )
    changed = emitted("peerlink.artevent.changed.v1")
    assert [e["data"]["changed"] for e in changed] == [["capacity"]] * 3


def test_a_guest_is_known_by_email_and_their_details_travel_only_on_the_private_exchange(api, make_event, emitted):
    first = make_event(public=True)
    second = make_event(public=True, title_en="Exhibition", title_cy="Arddangosfa")
    made = register(api, first, guest=guest(family_name="Pritchard", preferred_language="cy"))
    assert made["guest"]["email"] == "sioned@example.org"
    again = register(api, second, guest=guest(family_name="Pritchard", preferred_language="cy"))
    assert again["guest_id"] == made["guest_id"]
    contacts = emitted("peerlink.guest-contact.recorded.v1")
    assert len(contacts) == 1  # nothing changed the second time: nothing said again
    assert contacts[0]["exchange"] == "peerlink.private"
    assert contacts[0]["data"]["email"] == "sioned@example.org"
    # A change of name is said again, before the registration it came with.
    third = make_event(public=True)
    register(api, third, guest=guest(name="Sioned Mai", family_name="Pritchard"))
    types = [e["type"] for e in emitted()]
    assert types[-2:] == ["peerlink.guest-contact.recorded.v1", "peerlink.registration.confirmed.v1"]
    confirmed = emitted("peerlink.registration.confirmed.v1")[-1]
    assert confirmed["exchange"] == "peerlink.events" and confirmed["data"]["guest_id"] == made["guest_id"]
    assert confirmed["data"]["person_id"] is None


def test_an_event_with_guests_cannot_quietly_become_participants_only(api, make_event):
    event = make_event(public=True)
    made = register(api, event, guest=guest())
    refused = api.patch(f"/events/{event['id']}", {"public": False}, expect=409).get_json()
    assert "guests" in refused["detail"]
    api.post(f"/events/{event['id']}/registrations/{made['id']}/cancel", {"reason": "by-organiser"}, expect=200)
    assert api.patch(f"/events/{event['id']}", {"public": False}, expect=200).get_json()["public"] is False


def test_the_door_list_names_guests_to_organisers_but_not_to_other_services(api, make_event):
    event = make_event(public=True)
    register(api, event, guest=guest())
    for_facilitator = api.get(f"/events/{event['id']}/registrations", role="facilitator", expect=200).get_json()
    assert for_facilitator["items"][0]["guest"]["given_name"] == "Sioned"
    for_service = api.get(f"/events/{event['id']}/registrations", role="service", expect=200).get_json()
    assert for_service["items"][0]["guest"] is None and for_service["items"][0]["guest_id"]
    api.get(f"/events/{event['id']}/registrations", role="mentor", expect=403)
    api.get(f"/events/{event['id']}/registrations", role="central-reader", expect=403)
    # A mentor books their mentee.
    api.post(f"/events/{event['id']}/registrations", {"person_id": person()}, role="mentor", expect=201)


def test_a_retried_registration_with_the_same_idempotency_key_registers_once(api, make_event, emitted):
    event = make_event(capacity=1)
    body = {"person_id": person()}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post(f"/events/{event['id']}/registrations", body, headers=key, expect=201)
    again = api.post(f"/events/{event['id']}/registrations", body, headers=key, expect=201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(emitted("peerlink.registration.confirmed.v1")) == 1
    other = api.post(f"/events/{event['id']}/registrations", {"person_id": person()}, headers=key, expect=422)
    assert other.get_json()["errors"][0]["parameter"] == "Idempotency-Key"
    api.post(f"/events/{event['id']}/registrations", body, headers={"Idempotency-Key": "short"}, expect=400)


def test_a_guests_details_are_forgotten_when_the_retention_period_after_their_last_event_ends(
    api, make_event, clock, engine, emitted
):
    event = make_event(public=True)
    made = register(api, event, guest=guest())
    scheduler = Scheduler(engine, Producer("ebbw-vale", "events"), retention=timedelta(days=30), clock=clock)
    clock.set(datetime.fromisoformat(event["ends_at"]) + timedelta(days=29))
    assert scheduler.run_once().guests_forgotten == 0
    clock.set(datetime.fromisoformat(event["ends_at"]) + timedelta(days=31))
    assert scheduler.run_once().guests_forgotten == 1
    kept = api.get(f"/guests/{made['guest_id']}", expect=200).get_json()
    assert (kept["given_name"], kept["email"], kept["erased_at"] is not None) == ("[erased]", None, True)
    assert emitted("peerlink.guest-contact.recorded.v1")[-1]["data"]["channels"] == []
    assert api.get(f"/events/{event['id']}/registrations", expect=200).get_json()["places_confirmed"] == 1
    assert scheduler.run_once().guests_forgotten == 0


def test_a_guest_erased_on_request_loses_their_details_and_their_upcoming_places(api, make_event, emitted):
    role = "coordinator"
    event = make_event(public=True, capacity=1)
    made = register(api, event, guest=guest())
    waiting = register(api, event, person_id=person())
    erased = api.post(f"/guests/{made['guest_id']}/erase", role=role, expect=200).get_json()
    assert (erased["given_name"], erased["email"]) == ("[erased]", None)
    api.post(f"/guests/{made['guest_id']}/erase", role=role, expect=409)
    api.post(f"/guests/{made['guest_id']}/erase", role="facilitator", expect=403)
    assert api.get(f"/events/{event['id']}/registrations/{waiting['id']}", expect=200).get_json()["status"] == (
        "confirmed"
    )
    forgotten = emitted("peerlink.guest-contact.recorded.v1")[-1]["data"]
    assert (forgotten["email"], forgotten["channels"], forgotten["given_name"]) == (None, [], "[erased]")
    cancelled = emitted("peerlink.registration.cancelled.v1")[-1]["data"]
    assert cancelled["reason"] == "person-erased"
    # The same email later is a new guest.
    again = register(api, make_event(public=True), guest=guest())
    assert again["guest_id"] != made["guest_id"]
