"""Groups and events: bilingual, in Europe/London wall-clock time, changed and cancelled before
they start, each change on the wire naming what moved."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def test_a_group_keeps_its_facilitators_venue_and_access_and_can_be_archived(api, make_group):
    facilitators = [str(uuid.uuid4()), str(uuid.uuid4())]
    group = make_group(facilitators=[*facilitators, facilitators[0]])
    assert group["facilitators"] == facilitators  # once each, in the order given
    assert group["accessibility_cy"].startswith("Mynediad")
    assert api.get(f"/groups/{group['id']}", role="service", expect=200).get_json() == group
    changed = api.patch(
        f"/groups/{group['id']}", {"facilitators": [facilitators[1]], "usual_venue": "The Hub"}, expect=200
    )
    assert changed.get_json()["facilitators"] == [facilitators[1]]
    api.patch(f"/groups/{group['id']}", {"active": False}, role="facilitator", expect=200)
    assert [g["id"] for g in api.get("/groups?active=true", expect=200).get_json()] == []
    assert [g["id"] for g in api.get("/groups", expect=200).get_json()] == [group["id"]]
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    archived = api.post(
        "/events",
        {
            "group_id": group["id"],
            "kind": "exhibition",
            "title_cy": "A",
            "title_en": "A",
            "starts_at": f"{day}T10:00",
            "ends_at": f"{day}T12:00",
        },
        expect=409,
    )
    assert "archived" in archived.get_json()["detail"]
    api.post("/groups", {"name_cy": "x", "name_en": "x", "usual_venue": "y"}, role="mentor", expect=403)
    api.post("/groups", {"name_cy": "x", "name_en": "x", "usual_venue": "y"}, role="service", expect=403)


def test_an_event_is_entered_in_local_time_and_shown_with_that_days_offset(api, group, emitted):
    summer = api.post(
        "/events",
        {
            "group_id": group["id"],
            "kind": "exhibition",
            "title_cy": "Arddangosfa'r haf",
            "title_en": "Summer exhibition",
            "description_en": "Paintings from the three groups.",
            "starts_at": "2027-07-01T10:00:00",
            "ends_at": "2027-07-03T16:00:00",
            "public": True,
        },
        expect=201,
    ).get_json()
    assert summer["starts_at"] == "2027-07-01T10:00:00+01:00"
    assert summer["venue"] == "Ebbw Vale Institute"  # the group's usual venue
    winter = api.post(
        "/events",
        {
            "kind": "community-event",
            "title_cy": "Ffair Nadolig",
            "title_en": "Christmas fair",
            "venue": "Pontypridd Museum",
            "starts_at": "2027-12-11T18:30:00Z",
            "ends_at": "2027-12-11T21:00:00Z",
            "capacity": 80,
        },
        expect=201,
    ).get_json()
    assert (winter["starts_at"], winter["group_id"]) == ("2027-12-11T18:30:00+00:00", None)
    scheduled = emitted("peerlink.artevent.scheduled.v1")
    assert [e["data"]["starts_at"] for e in scheduled] == ["2027-07-01T09:00:00+00:00", "2027-12-11T18:30:00+00:00"]
    assert scheduled[0]["data"]["timezone"] == "Europe/London" and scheduled[0]["subject"] == summer["id"]
    listed = api.get("/events?public=true&starts_from=2027-06-01", role="mentor", expect=200).get_json()
    assert [e["id"] for e in listed["items"]] == [summer["id"]]
    by_group = api.get(f"/events?group_id={group['id']}&starts_from=2027-01-01", expect=200).get_json()
    assert by_group["total"] == 1
    assert api.get("/events?starts_from=2027-12-11&starts_to=2027-12-11", expect=200).get_json()["total"] == 1
    paged = api.get("/events?starts_from=2027-01-01&limit=1&offset=1", expect=200).get_json()
    assert ([e["id"] for e in paged["items"]], paged["total"]) == ([winter["id"]], 2)


def test_moving_an_event_says_what_moved_and_keeps_its_registrations(api, make_event, emitted):
    event = make_event(capacity=4)
    someone = api.post(f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
    day = datetime.fromisoformat(event["starts_at"]).date()
    moved = api.patch(f"/events/{event['id']}", {"starts_at": f"{day}T13:00:00"}, expect=200).get_json()
    assert moved["starts_at"].startswith(f"{day}T13:00") and moved["ends_at"].startswith(f"{day}T15:00")
    assert moved["revision"] == 1
    (changed,) = emitted("peerlink.artevent.changed.v1")
    assert changed["data"]["changed"] == ["starts_at", "ends_at"]
    assert datetime.fromisoformat(changed["data"]["starts_at"]).astimezone(LONDON).hour == 13
    renamed = api.patch(
        f"/events/{event['id']}", {"title_en": "Art session (new room)", "venue": "Room 2"}, expect=200
    ).get_json()
    assert renamed["revision"] == 2
    assert emitted("peerlink.artevent.changed.v1")[-1]["data"]["changed"] == ["title", "venue"]
    # A description is not on the wire: changed, stored, not announced.
    api.patch(f"/events/{event['id']}", {"description_cy": "Dewch â brwsh."}, expect=200)
    assert len(emitted("peerlink.artevent.changed.v1")) == 2
    assert api.get(f"/events/{event['id']}/registrations/{someone.get_json()['id']}", expect=200).get_json()[
        "status"
    ] == ("confirmed")


def test_an_event_cannot_be_changed_into_the_past_nor_once_it_has_started(api, make_event, at_start):
    event = make_event()
    api.patch(f"/events/{event['id']}", {"starts_at": "2020-01-01T10:00:00"}, expect=422)
    backwards = api.patch(f"/events/{event['id']}", {"ends_at": event["starts_at"]}, expect=422).get_json()
    assert backwards["errors"][0]["pointer"] == "/ends_at"
    at_start(event, timedelta(seconds=1))
    started = api.patch(f"/events/{event['id']}", {"title_en": "Too late"}, expect=409).get_json()
    assert "started" in started["detail"]
    api.post(f"/events/{event['id']}/cancel", {"reason": "other"}, expect=409)


def test_cancelling_an_event_cancels_its_registrations_after_saying_so(api, make_event, emitted):
    event = make_event(capacity=1)
    for _ in range(2):
        api.post(f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
    cancelled = api.post(f"/events/{event['id']}/cancel", {"reason": "venue-unavailable"}, expect=200).get_json()
    assert (cancelled["status"], cancelled["places_confirmed"], cancelled["waiting"]) == ("cancelled", 0, 0)
    types = [e["type"] for e in emitted()][-3:]
    assert types == [
        "peerlink.artevent.cancelled.v1",
        "peerlink.registration.cancelled.v1",
        "peerlink.registration.cancelled.v1",
    ]
    gone = emitted("peerlink.registration.cancelled.v1")
    assert {(e["data"]["was"], e["data"]["reason"]) for e in gone} == {
        ("confirmed", "event-cancelled"),
        ("waitlisted", "event-cancelled"),
    }
    assert emitted("peerlink.registration.promoted.v1") == []
    api.post(f"/events/{event['id']}/cancel", {"reason": "other"}, expect=409)
    api.patch(f"/events/{event['id']}", {"title_en": "Back on"}, expect=409)


def test_a_time_that_does_not_exist_or_an_unknown_zone_is_refused(api, group):
    body = {
        "group_id": group["id"],
        "kind": "group-session",
        "title_cy": "Sesiwn",
        "title_en": "Session",
        "starts_at": "2028-03-26T01:30:00",
        "ends_at": "2028-03-26T03:00:00",
    }
    gap = api.post("/events", body, expect=422).get_json()
    assert gap["errors"][0]["pointer"] == "/starts_at" and "clocks go forward" in gap["detail"]
    zone = api.post("/events", {**body, "starts_at": "2028-04-01T10:00", "timezone": "Mars/Olympus"}, expect=422)
    assert zone.get_json()["errors"][0]["pointer"] == "/timezone"


def test_only_organisers_change_events_and_every_role_of_another_site_is_refused(api, make_event, tokens, client):
    event = make_event()
    api.patch(f"/events/{event['id']}", {"title_en": "x"}, role="mentor", expect=403)
    api.patch(f"/events/{event['id']}", {"title_en": "x"}, role="service", expect=403)
    api.get(f"/events/{event['id']}", role="service", expect=200)
    elsewhere = client.get(f"/events/{event['id']}", headers=tokens.header("coordinator", "merthyr"))
    assert elsewhere.status_code == 403
    assert client.get(f"/events/{event['id']}").status_code == 401
