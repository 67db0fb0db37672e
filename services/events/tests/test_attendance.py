"""Attendance: who came and who did not (a gentle signal), corrected by recording again, and
heads counted at a drop-in."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from events import store
from events.domain import attendance as attending
from events.domain.attendance import Attendance
from events.domain.registration import Registration, Status
from events.domain.schedule import ArtEvent, Details, EventStatus
from events.scheduler import Scheduler, no_show_after
from peerlink.config import ConfigError
from peerlink.outbox import Producer
from peerlink.testing import settings_for


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
        "assumed_no_shows": 0,
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


def test_registrations_left_unmarked_a_day_after_the_end_are_no_shows_once_someone_took_the_register(
    api, make_event, clock, engine, emitted
):
    taken, untaken, cancelled = make_event(capacity=5), make_event(capacity=5), make_event(capacity=5)
    came, forgot, late, missed = (registered(api, taken) for _ in range(4))
    nobody_marked = registered(api, untaken)
    registered(api, cancelled)
    api.post(f"/events/{cancelled['id']}/cancel", {"reason": "weather"}, expect=200)
    scheduler = Scheduler(engine, Producer("ebbw-vale", "events"), clock=clock)  # 24 hours by default
    ends = datetime.fromisoformat(taken["ends_at"])
    clock.set(ends - timedelta(minutes=30))
    record(api, taken, status="attended", registration_id=came["id"])
    clock.set(ends + timedelta(hours=23, minutes=59))
    assert scheduler.run_once().no_shows_assumed == 0  # not yet a day
    clock.set(ends + timedelta(hours=23, minutes=59, seconds=30))
    record(api, taken, status="attended", registration_id=late["id"])  # marked at the last moment
    clock.set(ends + timedelta(hours=24, minutes=5))

    def due():  # the registers the scheduler has work for (it locks no other event)
        with engine.connect() as conn:
            return store.places.events_with_registers_to_complete(
                conn, ended_from=ends - timedelta(days=1), ended_before=clock.now - timedelta(hours=24)
            )

    assert due() == [uuid.UUID(taken["id"])]
    assert scheduler.run_once().no_shows_assumed == 2
    assert (scheduler.run_once().no_shows_assumed, due()) == (0, [])  # done once
    register = api.get(f"/events/{taken['id']}/attendance", expect=200).get_json()
    marks = {i["id"]: (i["attendance"]["status"], i["attendance"]["assumed"]) for i in register["items"]}
    assert marks == {
        came["id"]: ("attended", False),
        late["id"]: ("attended", False),  # a mark by hand is never overridden
        forgot["id"]: ("no-show", True),
        missed["id"]: ("no-show", True),
    }
    assert (register["summary"]["no_shows"], register["summary"]["assumed_no_shows"]) == (2, 2)
    assert register["summary"]["unmarked"] == 0
    # Announced as a no-show marked by hand is, to whoever nudges a mentor.
    assumed = [e["data"] for e in emitted("peerlink.attendance.recorded.v1") if e["data"]["status"] == "no-show"]
    assert {(a["registration_id"], a["person_id"], a["headcount"]) for a in assumed} == {
        (forgot["id"], forgot["person_id"], 0),
        (missed["id"], missed["person_id"], 0),
    }
    # Nobody took the other register: nothing is assumed about who came.
    untouched = api.get(f"/events/{untaken['id']}/attendance", expect=200).get_json()["summary"]
    assert (untouched["unmarked"], untouched["no_shows"]) == (1, 0) and nobody_marked
    # A later mark by hand corrects the assumption, keeping its record.
    corrected = record(api, taken, status="attended", registration_id=forgot["id"])
    assert (corrected["assumed"], corrected["id"]) == (False, assumed[0]["attendance_id"])
    confirmed = record(api, taken, status="no-show", registration_id=missed["id"])
    assert confirmed["assumed"] is False
    assert len(emitted("peerlink.attendance.recorded.v1")) == 2 + 2 + 1  # a confirmation says nothing new
    assert scheduler.run_once().no_shows_assumed == 0


def test_no_shows_are_assumed_after_the_hours_set_or_never(engine, sqlite_url, make_event, api, clock):
    assert no_show_after(settings_for("events", database_url=sqlite_url)) == timedelta(hours=24)
    assert (
        no_show_after(settings_for("events", database_url=sqlite_url, PEERLINK_EVENTS_NO_SHOW_AFTER_HOURS="0")) is None
    )
    with pytest.raises(ConfigError, match="PEERLINK_EVENTS_NO_SHOW_AFTER_HOURS"):
        no_show_after(settings_for("events", database_url=sqlite_url, PEERLINK_EVENTS_NO_SHOW_AFTER_HOURS="a day"))
    event = make_event(capacity=5)
    came, missed = registered(api, event), registered(api, event)
    clock.set(datetime.fromisoformat(event["starts_at"]))
    record(api, event, status="attended", registration_id=came["id"])
    clock.set(datetime.fromisoformat(event["ends_at"]) + timedelta(hours=3))
    never = Scheduler(engine, Producer("ebbw-vale", "events"), no_show_after=None, clock=clock)
    assert never.run_once().no_shows_assumed == 0
    soon = Scheduler(engine, Producer("ebbw-vale", "events"), no_show_after=timedelta(hours=2), clock=clock)
    assert soon.run_once().no_shows_assumed == 1
    assert api.get(f"/events/{event['id']}/registrations/{missed['id']}").get_json()["attendance"]["assumed"]
    # An event that ended more than a week before the wait was over is left as it was.
    later = make_event(capacity=5)
    came, missed = registered(api, later), registered(api, later)
    clock.set(datetime.fromisoformat(later["starts_at"]))
    record(api, later, status="attended", registration_id=came["id"])
    clock.set(datetime.fromisoformat(later["ends_at"]) + timedelta(hours=24, days=7, minutes=1))
    assert Scheduler(engine, Producer("ebbw-vale", "events"), clock=clock).run_once().no_shows_assumed == 0


def test_the_rule_assumes_nothing_before_the_wait_is_over_nor_where_nobody_took_the_register():
    """The rule itself (the scheduler's query asks the same of the database, so the API test above
    cannot tell the two apart)."""
    ends = datetime(2027, 3, 2, 12, 0, tzinfo=UTC)
    event = ArtEvent(
        id=uuid.uuid4(),
        group_id=None,
        series_id=None,
        occurrence_start=None,
        details=Details(kind="group-session", title_cy="Sesiwn", title_en="Session", venue="Institute", capacity=5),
        starts_at=ends - timedelta(hours=2),
        ends_at=ends,
        timezone="Europe/London",
        status=EventStatus.SCHEDULED,
        created_at=ends - timedelta(days=9),
        updated_at=ends - timedelta(days=9),
    )
    came, missed = (
        Registration(uuid.uuid4(), event.id, uuid.uuid4(), None, None, 1, Status.CONFIRMED, False, None, ends)
        for _ in range(2)
    )
    mark = Attendance(uuid.uuid4(), event.id, came.id, came.person_id, "attended", 1, ends)
    day = timedelta(hours=24)

    def assumed(records, now, on=event):
        return [a.registration_id for a in attending.assumed_no_shows(on, [came, missed], records, now=now, after=day)]

    assert assumed([mark], ends + day) == [missed.id]
    assert assumed([mark], ends + day - timedelta(seconds=1)) == []  # not yet
    assert assumed([], ends + day) == []  # nobody took the register
    guessed = Attendance(uuid.uuid4(), event.id, missed.id, missed.person_id, "no-show", 0, ends, assumed=True)
    assert assumed([guessed], ends + 2 * day) == []  # an assumption is not someone taking the register
    assert assumed([mark, guessed], ends + 2 * day) == []  # nothing left unmarked
    assert assumed([mark], ends + day, on=replace(event, status=EventStatus.CANCELLED)) == []
