"""Attendance: who came and who did not (a gentle signal), corrected by recording again, and
heads counted at a drop-in."""

import uuid
from datetime import timedelta


def registered(api, event, places=1):
    return api.post(
        f"/events/{event['id']}/registrations", {"person_id": str(uuid.uuid4()), "places": places}, expect=201
    ).get_json()


def record(api, event, expect=201, **body):
    return api.post(f"/events/{event['id']}/attendance", body, expect=expect).get_json()


def test_each_registration_attended_or_did_not_show_and_a_correction_keeps_its_record(
    api, make_event, at_start, emitted
):
    event = make_event(capacity=5)
    came, missed, family = registered(api, event), registered(api, event), registered(api, event, places=3)
    waiting = make_event(capacity=1)
    at_start(event, timedelta(minutes=5))  # the session has just begun
    first = record(api, event, status="attended", registration_id=came["id"])
    assert (first["status"], first["headcount"], first["person_id"]) == ("attended", 1, came["person_id"])
    record(api, event, status="no-show", registration_id=missed["id"])
    assert record(api, event, status="attended", registration_id=family["id"], headcount=2)["headcount"] == 2
    # Recording the same again says nothing new; a correction keeps the record's id.
    record(api, event, status="attended", registration_id=came["id"])
    corrected = record(api, event, status="attended", registration_id=missed["id"])
    recorded = emitted("peerlink.attendance.recorded.v1")
    assert len(recorded) == 4
    assert recorded[-1]["data"]["attendance_id"] == recorded[1]["data"]["attendance_id"] == corrected["id"]
    assert [e["data"]["status"] for e in recorded] == ["attended", "no-show", "attended", "attended"]
    assert recorded[1]["data"]["headcount"] == 0  # a no-show counts nobody present
    register = api.get(f"/events/{event['id']}/attendance", role="facilitator", expect=200).get_json()
    assert register["summary"] == {
        "registered_places": 5,
        "attended": 3,
        "no_shows": 0,
        "unmarked": 0,
        "registered_heads": 4,
        "drop_in_heads": 0,
        "total_heads": 4,
    }
    assert {i["id"]: i["attendance"]["status"] for i in register["items"]}[came["id"]] == "attended"
    assert waiting  # another event, untouched


def test_a_drop_in_counts_heads_once_per_event_and_is_corrected_by_counting_again(api, make_event, at_start, emitted):
    drop_in = make_event(drop_in=True, capacity=None, public=True)
    at_start(drop_in, timedelta(hours=1))
    first = record(api, drop_in, status="drop-in", headcount=11)
    second = record(api, drop_in, status="drop-in", headcount=14)
    assert first["id"] == second["id"] and second["registration_id"] is None
    register = api.get(f"/events/{drop_in['id']}/attendance", role="service", expect=200).get_json()
    assert register["drop_in"]["headcount"] == 14
    assert register["summary"]["total_heads"] == 14
    assert [e["data"]["headcount"] for e in emitted("peerlink.attendance.recorded.v1")] == [11, 14]


def test_attendance_is_refused_too_early_for_waiting_or_cancelled_places_and_for_cancelled_events(
    api, make_event, at_start
):
    event = make_event(capacity=1)
    confirmed, waiting = registered(api, event), registered(api, event)
    early = record(api, event, expect=409, status="attended", registration_id=confirmed["id"])
    assert "two hours before" in early["detail"]
    at_start(event, -timedelta(minutes=90))  # 08:30 on the day: open
    record(api, event, expect=409, status="attended", registration_id=waiting["id"])
    too_many = record(api, event, expect=422, status="attended", registration_id=confirmed["id"], headcount=2)
    assert too_many["errors"][0]["pointer"] == "/headcount"
    record(api, event, expect=422, status="no-show", registration_id=confirmed["id"], headcount=1)
    record(api, event, expect=422, status="attended")
    record(api, event, expect=422, status="drop-in", registration_id=confirmed["id"], headcount=3)
    record(api, event, expect=422, status="attended", registration_id=str(uuid.uuid4()))
    record(api, event, status="attended", registration_id=confirmed["id"])
    other = make_event()
    api.post(f"/events/{other['id']}/cancel", {"reason": "weather"}, expect=200)
    record(api, other, expect=409, status="drop-in", headcount=3)
    api.post(f"/events/{event['id']}/attendance", {"status": "attended"}, role="mentor", expect=403)
