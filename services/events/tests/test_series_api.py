"""Weekly sessions: made a horizon ahead, kept that far ahead by the worker's scheduler, each
occurrence cancelled or moved on its own, at 10:00 local time whatever the season."""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from events.scheduler import Scheduler
from events.store.tables import series as series_rows
from peerlink.outbox import Producer

LONDON = ZoneInfo("Europe/London")


def tuesday_sessions(api, group, **overrides):
    body = {
        "group_id": group["id"],
        "title_cy": "Grŵp celf dydd Mawrth",
        "title_en": "Tuesday art group",
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "first_starts_at": "2027-10-19T10:00:00",
        "duration_minutes": 120,
        "capacity": 12,
        **overrides,
    }
    return api.post("/series", body, expect=201).get_json()


def local_starts(events):
    return [datetime.fromisoformat(e["starts_at"]).astimezone(LONDON) for e in events]


def test_a_weekly_series_is_made_to_its_horizon_at_ten_oclock_across_the_autumn_change(api, group, clock, emitted):
    clock.set(datetime(2027, 10, 1, 8, 0, tzinfo=UTC))
    made = tuesday_sessions(api, group)
    sessions = made["occurrences"]
    assert made["rrule"] == "FREQ=WEEKLY;BYDAY=TU" and made["horizon_weeks"] == 12
    assert [s.date().isoformat() for s in local_starts(sessions)][:4] == [
        "2027-10-19",
        "2027-10-26",
        "2027-11-02",
        "2027-11-09",
    ]
    assert len(sessions) == 10  # Tuesdays up to twelve weeks from 1 October
    assert {(s.hour, s.minute) for s in local_starts(sessions)} == {(10, 0)}
    assert [e["starts_at"][-6:] for e in sessions[1:3]] == ["+01:00", "+00:00"]  # before and after 31 October
    scheduled = emitted("peerlink.artevent.scheduled.v1")
    assert len(scheduled) == 10 and {e["data"]["series_id"] for e in scheduled} == {made["id"]}
    assert api.get(f"/events?series_id={made['id']}&starts_from=2027-10-01", expect=200).get_json()["total"] == 10


def test_one_session_is_cancelled_another_moved_and_the_scheduler_never_makes_them_again(
    api, group, clock, engine, emitted
):
    clock.set(datetime(2027, 10, 1, 8, 0, tzinfo=UTC))
    made = tuesday_sessions(api, group)
    third, fourth = made["occurrences"][2], made["occurrences"][3]
    api.post(f"/events/{third['id']}/cancel", {"reason": "venue-unavailable"}, expect=200)
    moved = api.patch(f"/events/{fourth['id']}", {"starts_at": "2027-11-09T13:00:00"}, expect=200).get_json()
    assert moved["moved"] is True and moved["occurrence_start"] == "2027-11-09T10:00:00+00:00"
    assert moved["series_id"] == made["id"]
    # However the horizon is recomputed (here: forgotten), what exists is not made a second time.
    with engine.begin() as conn:
        conn.execute(sa.update(series_rows).values(scheduled_until=None))
    scheduler = Scheduler(engine, Producer("ebbw-vale", "events"), clock=clock)
    assert scheduler.run_once().sessions_made == 0
    listed = api.get(f"/events?series_id={made['id']}&starts_from=2027-10-01", expect=200).get_json()["items"]
    assert len(listed) == 10
    assert [e["status"] for e in listed][2] == "cancelled"


def test_the_scheduler_keeps_the_series_a_horizon_ahead_through_the_spring_change(api, group, clock, engine, emitted):
    clock.set(datetime(2027, 10, 1, 8, 0, tzinfo=UTC))
    made = tuesday_sessions(api, group, horizon_weeks=4)
    assert len(made["occurrences"]) == 2  # 19 and 26 October
    scheduler = Scheduler(engine, Producer("ebbw-vale", "events"), clock=clock)
    clock.set(datetime(2028, 3, 10, 8, 0, tzinfo=UTC))
    done = scheduler.run_once()
    assert done.sessions_made == 4 and done.failures == []
    later = api.get(f"/events?series_id={made['id']}&starts_from=2028-03-01", expect=200).get_json()["items"]
    assert [s.date().isoformat() for s in local_starts(later)] == [
        "2028-03-14",
        "2028-03-21",
        "2028-03-28",
        "2028-04-04",
    ]
    assert {(s.hour, s.minute) for s in local_starts(later)} == {(10, 0)}
    assert [e["starts_at"][-6:] for e in later[1:3]] == ["+00:00", "+01:00"]  # before and after 26 March
    assert scheduler.run_once().sessions_made == 0  # nothing more is due until time moves on
    assert len(emitted("peerlink.artevent.scheduled.v1")) == 6


def test_ending_a_series_cancels_its_sessions_to_come_and_stops_making_them(api, group, clock, engine, emitted):
    clock.set(datetime(2027, 10, 1, 8, 0, tzinfo=UTC))
    made = tuesday_sessions(api, group)
    someone = api.post(
        f"/events/{made['occurrences'][5]['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201
    ).get_json()
    ended = api.post(
        f"/series/{made['id']}/end", {"after": "2027-11-10T00:00:00", "reason": "facilitator-unavailable"}, expect=200
    ).get_json()
    assert ended["ended_at"] and ended["end_reason"] == "facilitator-unavailable"
    statuses = [
        e["status"] for e in api.get(f"/events?series_id={made['id']}&starts_from=2027-10-01").get_json()["items"]
    ]
    assert statuses == ["scheduled"] * 4 + ["cancelled"] * 6
    gone = emitted("peerlink.registration.cancelled.v1")
    assert [(e["data"]["registration_id"], e["data"]["reason"]) for e in gone] == [(someone["id"], "event-cancelled")]
    clock.set(datetime(2028, 3, 10, 8, 0, tzinfo=UTC))
    assert Scheduler(engine, Producer("ebbw-vale", "events"), clock=clock).run_once().sessions_made == 0
    api.post(f"/series/{made['id']}/end", {"reason": "other"}, expect=409)


def test_a_rule_or_a_session_that_cannot_be_is_refused_at_the_field(api, group, clock):
    clock.set(datetime(2027, 10, 1, 8, 0, tzinfo=UTC))
    body = {
        "group_id": group["id"],
        "title_cy": "Grŵp",
        "title_en": "Group",
        "first_starts_at": "2027-10-19T10:00:00",
        "duration_minutes": 120,
    }
    for rule, fragment in (
        ("FREQ=HOURLY", "FREQ"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "No month"),
        ("FREQ=WEEKLY;COUNT=2", "no session in the coming year"),
    ):
        problem = api.post("/series", {**body, "rrule": rule, "first_starts_at": "2020-01-07T10:00"}, expect=422)
        assert problem.get_json()["errors"][0]["pointer"] == "/rrule", rule
        assert fragment in problem.get_json()["detail"]
    drop_in_with_places = api.post(
        "/series", {**body, "rrule": "FREQ=WEEKLY", "drop_in": True, "capacity": 5}, expect=422
    )
    assert drop_in_with_places.get_json()["errors"][0]["pointer"] == "/capacity"
