"""Reminders fall due a set time before their event (24 h by default), move with it, are dropped
with it or with the registration; daily digests gather a coordinator's items once a day."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from notifications import commands, store
from notifications.domain.recipients import Preferences
from notifications.scheduler import Scheduler
from peerlink.db import write_transaction

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
STARTS = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


@pytest.fixture
def scheduler(engine):
    return Scheduler(engine, reminder_before=DAY, digest_at=time(8, 0), zone=LONDON)


@pytest.fixture
def booked(engine, person):
    """Rhian has a place at the art group on 1 December; the event is known."""
    rhian = person(channels=("email", "sms"))
    with write_transaction(engine) as conn:
        commands.event_scheduled(conn, "e-1", _details(STARTS), as_of=NOW - DAY, now=NOW)
        commands.registration_changed(
            conn,
            registration_id="r-1",
            art_event_id="e-1",
            recipient_id=rhian,
            audience="person",
            status="confirmed",
            starts_at=STARTS,
            as_of=NOW,
        )
        commands.schedule_reminder(
            conn,
            registration_id="r-1",
            art_event_id="e-1",
            recipient_id=rhian,
            audience="person",
            starts_at=STARTS,
            booked_at=NOW,
            now=NOW,
        )
    return rhian


def _details(starts):
    return {
        "kind": "group-session",
        "title_cy": "Grŵp celf Glynebwy",
        "title_en": "Ebbw Vale art group",
        "venue": "Ebbw Vale Institute",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
    }


def reminders_owed(engine):
    with engine.connect() as conn:
        return sorted(
            (row.event_id, row.channel, row.status)
            for row in conn.execute(sa.select(store.deliveries).where(store.deliveries.c.kind == "event-reminder"))
        )


def reminder(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(store.reminders)).one()


def test_a_reminder_falls_due_a_day_before_and_is_owed_once_on_each_channel(engine, scheduler, booked):
    assert scheduler.tick(STARTS - DAY - timedelta(minutes=1)) == 0
    assert scheduler.tick(STARTS - DAY) == 1
    assert reminders_owed(engine) == [
        ("reminder:r-1:20261201T100000", "email", "pending"),
        ("reminder:r-1:20261201T100000", "sms", "pending"),
    ]
    assert scheduler.tick(STARTS - DAY + timedelta(minutes=5)) == 0
    assert (reminder(engine).status, reminder(engine).sent_for) == ("sent", STARTS)


def test_a_moved_event_moves_its_reminder_even_one_already_owed(engine, scheduler, booked):
    scheduler.tick(STARTS - DAY)
    later = STARTS + timedelta(days=2)
    with write_transaction(engine) as conn:
        assert commands.event_changed(conn, "e-1", _details(later), as_of=NOW + DAY, now=STARTS - DAY)
    assert {status for _, _, status in reminders_owed(engine)} == {"skipped"}  # not at the old time
    assert (reminder(engine).status, reminder(engine).starts_at) == ("scheduled", later)
    assert scheduler.tick(STARTS - DAY + timedelta(hours=1)) == 0
    assert scheduler.tick(later - DAY) == 1
    assert [key for key, _, status in reminders_owed(engine) if status == "pending"] == [
        "reminder:r-1:20261203T100000",
        "reminder:r-1:20261203T100000",
    ]


def test_an_older_change_arriving_late_does_not_move_anything(engine, scheduler, booked):
    with write_transaction(engine) as conn:
        assert not commands.event_changed(conn, "e-1", _details(STARTS + DAY), as_of=NOW - 2 * DAY, now=NOW)
    assert reminder(engine).starts_at == STARTS


@pytest.mark.parametrize("what", ["event", "registration"])
def test_a_cancelled_event_or_registration_drops_its_reminder_owed_or_not(engine, scheduler, booked, what):
    scheduler.tick(STARTS - DAY)
    with write_transaction(engine) as conn:
        if what == "event":
            commands.event_cancelled(
                conn, "e-1", as_of=NOW + DAY, kind="group-session", starts_at=STARTS, now=NOW + DAY
            )
        else:
            commands.registration_cancelled(conn, "r-1", NOW + DAY)
    assert reminder(engine).status == "cancelled"
    assert {status for _, _, status in reminders_owed(engine)} == {"skipped"}
    with write_transaction(engine) as conn:  # and a late moved event does not bring it back
        commands.event_changed(conn, "e-1", _details(STARTS + DAY), as_of=NOW + 2 * DAY, now=NOW)
    assert scheduler.tick(STARTS) == 0 and reminder(engine).status == "cancelled"


def test_a_place_booked_inside_the_reminder_window_needs_no_reminder_and_one_past_the_start_is_missed(
    engine, scheduler, person
):
    rhian = person()
    with write_transaction(engine) as conn:
        for registration, booked_at in (("late", STARTS - timedelta(hours=3)), ("down", NOW)):
            commands.schedule_reminder(
                conn,
                registration_id=registration,
                art_event_id="e-2",
                recipient_id=rhian,
                audience="person",
                starts_at=STARTS,
                booked_at=booked_at,
                now=booked_at,
            )
    scheduler.tick(STARTS + timedelta(minutes=1))  # the worker was away until after the start
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(store.reminders.c.registration_id, store.reminders.c.status)).all())
    assert statuses == {"late": "missed", "down": "missed"}
    assert reminders_owed(engine) == []


def test_a_reminder_sent_says_the_event_as_it_is_now(
    engine, scheduler, booked, make_dispatcher, smtp_transport, smtp_server, clock, subject
):
    with write_transaction(engine) as conn:
        moved = {**_details(STARTS), "venue": "Ebbw Vale Library"}
        commands.event_changed(conn, "e-1", moved, as_of=NOW + DAY, now=NOW + DAY)
    clock.now = STARTS - DAY
    scheduler.tick(clock.now)
    make_dispatcher(smtp_transport, clock=clock).send_due()
    (email,) = smtp_server.messages
    assert subject(email) == "Nodyn atgoffa: Grŵp celf Glynebwy, dydd Mawrth 1 Rhagfyr am 10:00"
    assert "Ble: Ebbw Vale Library" in email.get_payload(decode=True).decode()


def test_a_coordinator_s_items_go_in_one_digest_a_day_in_their_language(
    engine, scheduler, person, owe, make_dispatcher, smtp_transport, smtp_server, clock
):
    rhian = person(given_name="Rhian")
    clock.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    for language in ("cy", "en"):
        coordinator = person(
            audience="coordinator",
            channels=("email",),
            language=language,
            email=f"coordinator-{language}@example.org",
            preferences=Preferences(digest="daily"),
        )
        owe(
            coordinator,
            kind="referral-received-coordinator",
            audience="coordinator",
            values={"reference": "AB12CD34", "welsh_preferred": True},
            now=clock.now,
        )
        owe(
            coordinator,
            kind="please-phone",
            audience="coordinator",
            values={"about_kind": "event-reminder"},
            about_id=rhian,
            now=clock.now,
        )
    dispatcher = make_dispatcher(smtp_transport, clock=clock)
    dispatcher.send_due()
    assert smtp_server.messages == []
    assert (
        scheduler.tick(datetime(2026, 11, 25, 7, 59, tzinfo=UTC)) == 0
    )  # the last slot (the 24th, 08:00) came before them
    assert scheduler.tick(datetime(2026, 11, 25, 8, 0, tzinfo=UTC)) == 2
    assert scheduler.tick(datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) == 0
    clock.now = datetime(2026, 11, 25, 8, 0, 1, tzinfo=UTC)
    dispatcher.send_due()
    digests = {m["To"]: (m["Subject"], m.get_payload(decode=True).decode()) for m in smtp_server.messages}
    subject, body = digests["coordinator-en@example.org"]
    assert subject == "Your daily digest: 2 items"
    assert "a new referral to triage, reference AB12CD34 (would like Welsh)" in body
    assert "please phone Rhian: an event reminder could not be delivered" in body
    subject, body = digests["coordinator-cy@example.org"]
    assert subject == "Eich crynodeb dyddiol: 2 eitem"
    assert "atgyfeiriad newydd i'w frysbennu, cyfeirnod AB12CD34 (am gael Cymraeg)" in body
    assert "ffoniwch Rhian: nid oedd modd anfon nodyn i atgoffa am ddigwyddiad" in body
