"""Sending email through a real SMTP server (aiosmtpd), on SQLite and PostgreSQL."""

import io
import json
import logging
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from notifications import store
from notifications.channels.log import LogTransport
from notifications.domain.recipients import Preferences, QuietHours
from notifications.templating import DIRECTORY, TemplateSet
from peerlink.contracts import NOTIFICATION_FAILED, NOTIFICATION_SENT
from peerlink.db import write_transaction
from peerlink.logging import JsonFormatter
from peerlink.tables import outbox
from peerlink.testing import find_personal_data, running, wait_until


def events(engine, event_type):
    with engine.connect() as conn:
        bodies = conn.execute(sa.select(outbox.c.body).where(outbox.c.event_type == event_type.name)).scalars()
        return [json.loads(body) for body in bodies]


@pytest.fixture
def dispatcher(make_dispatcher, smtp_transport):
    """Email through the SMTP server; texts not set up (so they are skipped with the reason)."""
    email = make_dispatcher(smtp_transport)
    with running(email, make_dispatcher(None, channel="sms")):
        yield email


def test_a_welsh_speaker_gets_a_welsh_email_once_and_the_centre_hears_of_it(
    engine, smtp_server, person, owe, deliveries, dispatcher
):
    rhian = person(language="cy")
    owe(rhian)
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "Rydym wedi derbyn eich atgyfeiriad"
    assert message["To"] == "rhian@example.org"
    assert message["Content-Language"] == "cy"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Glynebwy" in message.get_payload(decode=True).decode()
    wait_until(lambda: deliveries(rhian)[0].status == "sent", what="recorded as sent")
    email, sms = deliveries(rhian)
    assert (email.attempts, email.languages, email.provider) == (1, "cy", "smtp")
    assert message["Message-ID"] == f"<{email.id}@ebbw-vale.peerlink>"
    assert (sms.status, sms.reason) == ("skipped", "no-consent")
    (sent,) = events(engine, NOTIFICATION_SENT)
    assert sent["data"]["delivery_id"] == str(email.id)
    assert sent["data"]["languages"] == ["cy"] and sent["data"]["audience"] == "person"
    assert find_personal_data(json.dumps(sent), known=("Rhian",)) == []


def test_an_unknown_language_preference_gets_both_welsh_first_and_a_compliance_record(
    engine, smtp_server, person, owe, deliveries, dispatcher
):
    someone = person(language=None)
    owe(someone)
    (message,) = smtp_server.wait_for(1)
    body = message.get_payload(decode=True).decode()
    assert message["Subject"] == "Rydym wedi derbyn eich atgyfeiriad / We have received your referral"
    assert message["Content-Language"] == "cy, en"
    assert body.index("Helo Rhian") < body.index("Hello Rhian")
    wait_until(lambda: deliveries(someone)[0].status == "sent", what="sent")
    with engine.connect() as conn:
        (decision,) = conn.execute(sa.select(store.language_decisions)).all()
    assert (decision.recipient_id, decision.languages, decision.reason) == (someone, "cy,en", "preference-unknown")


def test_a_server_that_refuses_then_accepts_gets_the_message_once(smtp_server, person, owe, deliveries, dispatcher):
    smtp_server.refuse(2)
    rhian = person()
    owe(rhian)
    smtp_server.wait_for(1)
    wait_until(lambda: deliveries(rhian)[0].status == "sent", what="sent after two refusals")
    assert smtp_server.refused == 2
    assert len(smtp_server.messages) == 1
    assert deliveries(rhian)[0].attempts == 3


def test_a_redelivered_event_sends_nothing_twice(smtp_server, person, owe, deliveries, dispatcher):
    rhian = person()
    event_id = owe(rhian)
    owe(rhian, event_id=event_id)
    later = owe(person(email="later@example.org"))
    wait_until(lambda: len(smtp_server.messages) == 2, what="two emails")
    wait_until(lambda: all(d.status != "pending" for d in deliveries()), what="all settled")
    assert sorted(m["To"] for m in smtp_server.messages) == ["later@example.org", "rhian@example.org"]
    assert later != event_id


def test_retries_wait_longer_each_time_and_the_last_failure_is_attempts_exhausted_and_said(
    engine, smtp_server, smtp_transport, make_dispatcher, clock, person, owe, deliveries
):
    smtp_server.refuse(10)  # more refusals than there are delays
    delays = (timedelta(seconds=30), timedelta(minutes=2))
    dispatcher = make_dispatcher(smtp_transport, clock=clock, retry_delays=delays)
    rhian = person()
    owe(rhian, now=clock.now)
    waits = []
    for attempts in (1, 2):
        tried_at = clock.now
        assert dispatcher.send_due() == 1
        email = deliveries(rhian)[0]
        assert (email.status, email.reason, email.attempts) == ("pending", "retrying", attempts)
        waits.append(email.due_at - tried_at)
        clock.now = email.due_at - timedelta(seconds=1)
        assert dispatcher.send_due() == 0  # not before its time
        clock.now = email.due_at
    assert waits == list(delays)  # 30 s, then 2 min: growing
    assert events(engine, NOTIFICATION_FAILED) == []
    dispatcher.send_due()
    email = deliveries(rhian)[0]
    assert (email.status, email.reason, email.attempts) == ("failed", "attempts-exhausted", 3)
    assert email.last_error.startswith("gave up after 3 attempts: 451")
    assert smtp_server.refused == 3 and smtp_server.messages == []
    (failed,) = events(engine, NOTIFICATION_FAILED)
    assert failed["data"]["reason"] == "attempts-exhausted"
    assert (failed["data"]["attempts"], failed["data"]["delivery_id"]) == (3, str(email.id))


def test_the_log_channel_writes_the_whole_message_to_the_log(person, owe, deliveries, make_dispatcher):
    """For development: the log is where the message goes, so it is written whatever the level."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter("notifications", "ebbw-vale"))
    logger = logging.getLogger("notifications.outbox.log")
    logger.addHandler(handler)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.WARNING)  # as PEERLINK_LOG_LEVEL=WARNING would have it
    try:
        rhian = person(language="cy")
        owe(rhian)
        make_dispatcher(LogTransport("email")).send_due()
    finally:
        logger.removeHandler(handler)
        logging.getLogger().setLevel(root_level)
    (line,) = written.getvalue().splitlines()
    entry = json.loads(line)
    email = deliveries(rhian)[0]
    assert (email.status, email.provider) == ("sent", "log")
    assert (entry["delivery"], entry["channel"], entry["to"]) == (str(email.id), "email", "rhian@example.org")
    assert entry["subject"] == "Rydym wedi derbyn eich atgyfeiriad"
    assert "Helo Rhian" in entry["body"] and "5F0C6F0E" in entry["body"]
    assert entry["languages"] == ["cy"]


def test_one_event_owes_one_recipient_at_most_one_delivery_on_each_channel(person, owe, deliveries):
    """The promise is one delivery per (event, recipient, channel): not one per kind as well."""
    rhian = person()
    event_id = owe(rhian)
    owe(rhian, event_id=event_id, kind="referral-accepted", values={"reference": "5F0C6F0E", "reentry": False})
    owed = [(d.kind, d.channel) for d in deliveries(rhian)]
    assert owed == [("referral-acknowledged", "email"), ("referral-acknowledged", "sms")]


def test_a_permanent_refusal_fails_says_so_and_asks_the_mentor_to_phone(
    engine, smtp_server, person, owe, deliveries, dispatcher
):
    mentor = person(audience="mentor", language="en", given_name="Gareth", email="gareth@example.org")
    rhian = person(language="cy")
    with write_transaction(engine) as conn:
        store.put_match(conn, "m-1", person_id=rhian, mentor_id=mentor, status="confirmed", as_of=datetime.now(UTC))
    smtp_server.refuse(1, "550 5.1.1 <rhian@example.org>: Recipient address rejected")
    owe(rhian, kind="referral-accepted", values={"reference": "5F0C6F0E", "reentry": False})
    (call,) = smtp_server.wait_for(1)
    assert call["To"] == "gareth@example.org"
    assert call["Subject"] == "Please phone Rhian"
    said = " ".join(call.get_payload(decode=True).decode().split())  # as read, whatever the line breaks
    assert "We could not send news that a referral was accepted to Rhian (your mentee) by email or by text." in said
    failed = deliveries(rhian)[0]
    assert (failed.status, failed.reason) == ("failed", "invalid-address")
    assert failed.last_error == "550 5.1.1 <[address]>: Recipient address rejected"  # never in a log
    (event,) = events(engine, NOTIFICATION_FAILED)
    assert event["data"]["reason"] == "invalid-address" and event["data"]["kind"] == "referral-accepted"
    wait_until(lambda: deliveries(mentor) and deliveries(mentor)[0].status == "sent", what="the call asked for")
    assert deliveries(mentor)[0].about_id == rhian


def test_nothing_is_sent_without_consent_and_nobody_is_asked_to_phone_an_opt_out(
    smtp_server, person, owe, deliveries, dispatcher
):
    texts_only = person(channels=("sms",), safe_to_text=False)
    opted_out = person(preferences=Preferences(opt_out=frozenset({"referral-acknowledged"})))
    owe(texts_only)
    owe(opted_out)
    wait_until(lambda: all(d.status == "skipped" for d in deliveries()) and len(deliveries()) == 4, what="skipped")
    assert {(d.channel, d.reason) for d in deliveries(texts_only)} == {
        ("email", "no-consent"),
        ("sms", "not-safe-to-text"),
    }
    assert {d.reason for d in deliveries(opted_out)} == {"opted-out", "no-consent"}
    assert smtp_server.messages == []


def test_a_message_waits_for_contact_details_and_goes_when_they_arrive(
    smtp_server, person, owe, deliveries, dispatcher
):
    rhian = "0b6f9a8e-1d2c-4b8a-9f3e-000000000001"
    owe(rhian)
    wait_until(lambda: deliveries(rhian)[0].reason == "waiting-for-contact", what="waiting")
    assert deliveries(rhian)[0].status == "pending" and smtp_server.messages == []
    person(recipient_id=rhian, language="en")
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "We have received your referral"


def test_quiet_hours_put_a_message_off_and_it_goes_when_they_end(
    smtp_server, smtp_transport, make_dispatcher, clock, person, owe, deliveries
):
    clock.now = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    rhian = person(preferences=Preferences(quiet_hours=QuietHours.parse("21:00-08:00")))
    owe(rhian, now=clock.now)
    dispatcher = make_dispatcher(smtp_transport, clock=clock)
    dispatcher.send_due()
    email = deliveries(rhian)[0]
    assert (email.status, email.reason) == ("pending", "quiet-hours")
    assert email.due_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    clock.now = datetime(2026, 11, 25, 7, 59, tzinfo=UTC)
    assert dispatcher.send_due() == 0 and smtp_server.messages == []
    clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    dispatcher.send_due()
    assert len(smtp_server.messages) == 1 and deliveries(rhian)[0].status == "sent"


def test_a_kind_whose_welsh_template_is_behind_is_held_for_welsh_and_english_speakers_alike(
    tmp_path, smtp_server, smtp_transport, make_dispatcher, clock, person, owe, deliveries
):
    for path in DIRECTORY.glob("*.j2"):
        shutil.copy(path, tmp_path / path.name)
    english = tmp_path / "referral-acknowledged.en.j2"
    english.write_text(english.read_text(encoding="utf-8").replace("revision: 1", "revision: 2"), encoding="utf-8")
    dispatcher = make_dispatcher(smtp_transport, clock=clock, templates=TemplateSet(tmp_path))
    welsh, saesneg = person(language="cy"), person(language="en", email="en@example.org")
    owe(welsh, now=clock.now)
    owe(saesneg, now=clock.now)
    dispatcher.send_due()
    held = [deliveries(who)[0] for who in (welsh, saesneg)]
    assert {(d.status, d.reason) for d in held} == {("pending", "template-not-ready")}
    assert "older than the English" in held[0].last_error
    assert smtp_server.messages == []
    welsh_file = tmp_path / "referral-acknowledged.cy.j2"
    welsh_file.write_text(
        welsh_file.read_text(encoding="utf-8").replace("revision: 1", "revision: 2"), encoding="utf-8"
    )
    clock.advance(minutes=16)
    dispatcher.send_due()
    assert sorted(m["Content-Language"] for m in smtp_server.messages) == ["cy", "en"]


def test_a_coordinator_who_chose_a_digest_gets_items_folded_into_it(
    smtp_server, smtp_transport, make_dispatcher, person, owe, deliveries
):
    coordinator = person(
        audience="coordinator", channels=("email",), language="en", preferences=Preferences(digest="daily")
    )
    owe(coordinator, kind="referral-received-coordinator", audience="coordinator")
    make_dispatcher(smtp_transport).send_due()
    (item,) = deliveries(coordinator)
    assert item.status == "digested" and item.digest_id is None and smtp_server.messages == []


def test_several_senders_at_once_send_each_message_once_and_one_person_s_in_order(
    smtp_server, smtp_transport, make_dispatcher, person, owe, deliveries
):
    people = [person(email=f"person{n}@example.org", language="en") for n in range(12)]
    for someone in people:
        owe(someone, kind="referral-acknowledged")
        owe(someone, kind="referral-accepted", values={"reference": "5F0C6F0E", "reentry": False})
    dispatcher = make_dispatcher(smtp_transport, senders=4)
    while dispatcher.send_due():
        pass
    assert len(smtp_server.messages) == 24
    for n in range(12):
        mine = [m["Subject"] for m in smtp_server.messages if m["To"] == f"person{n}@example.org"]
        assert mine == ["We have received your referral", "Your referral has been accepted"]
    assert {d.status for d in deliveries() if d.channel == "email"} == {"sent"}


def test_two_senders_on_one_database_send_each_message_once_though_a_slow_server_outlasts_their_claims(
    smtp_server, smtp_transport, make_dispatcher, person, owe, deliveries
):
    """Two ``work`` processes on one database, as the README allows. Each send takes 0.25 s and a
    claim holds 0.4 s, so one sender's batch outlives its claim and the other takes the rest of
    it: each message still goes once (each is held afresh before it is sent, and neither records
    what is no longer its own)."""
    people = [person(email=f"person{n}@example.org", language="en") for n in range(4)]
    for someone in people:
        owe(someone)
    smtp_server.slow(len(people) * 2, 0.25)
    claim = timedelta(seconds=0.4)
    first = make_dispatcher(smtp_transport, claim_for=claim)
    second = make_dispatcher(smtp_transport.fresh(), claim_for=claim)
    with running(first, second):
        wait_until(lambda: {d.status for d in deliveries() if d.channel == "email"} == {"sent"}, what="all sent")
    # Both stopped, each after finishing its round: anything sent twice has arrived by now.
    recipients = sorted(m["To"] for m in smtp_server.messages)
    assert recipients == sorted(f"person{n}@example.org" for n in range(4))
    assert {d.attempts for d in deliveries() if d.channel == "email"} == {1}
    assert smtp_server.slowed >= 2  # each send was slow, from both senders' batches


def test_a_sender_whose_claim_ran_out_neither_renews_nor_overwrites_the_next_sender_s_record(
    engine, person, owe, deliveries
):
    rhian = person()
    owe(rhian)
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        (first,) = store.claim_due(conn, "email", now, now + timedelta(minutes=1), 10)
    later = now + timedelta(minutes=2)  # the first claim has run out
    with write_transaction(engine) as conn:
        (second,) = store.claim_due(conn, "email", later, later + timedelta(minutes=1), 10)
    assert second.claimed_until > first.claimed_until
    sent = {"kind": "referral-acknowledged", "attempts": 1, "sent_at": later, "languages": "cy"}
    sent |= {"segments": None, "provider": "smtp", "provider_ref": None}
    with write_transaction(engine) as conn:
        assert not store.renew(conn, first.id, first.claimed_until, later + timedelta(minutes=10))
        assert store.renew(conn, second.id, second.claimed_until, later + timedelta(minutes=10))
    with write_transaction(engine) as conn:
        lease = later + timedelta(minutes=10)
        assert store.settle_sent(conn, second.id, lease, subject="Helo", body="the second's", **sent)
        assert not store.settle_sent(conn, first.id, first.claimed_until, subject="Helo", body="the first's", **sent)
        assert not store.settle(conn, first.id, first.claimed_until, status="failed", reason="invalid-address")
    email = deliveries(rhian)[0]
    assert (email.status, email.reason, email.body, email.claimed_until) == ("sent", None, "the second's", None)


def test_a_delivery_that_cannot_be_prepared_is_retried_and_does_not_stop_the_others(
    smtp_server, smtp_transport, make_dispatcher, person, owe, deliveries
):
    broken, fine = person(), person(email="fine@example.org")
    owe(broken, kind="event-reminder", values={"no": "start time"})  # a reminder always has one
    owe(fine)
    make_dispatcher(smtp_transport).send_due()
    assert [m["To"] for m in smtp_server.messages] == ["fine@example.org"]
    email = deliveries(broken)[0]
    assert (email.status, email.reason, email.attempts) == ("pending", "retrying", 1)
    assert "KeyError" in email.last_error


def test_a_message_about_an_event_waits_for_the_event_s_details_and_goes_when_they_come(
    engine, smtp_server, smtp_transport, make_dispatcher, clock, person, owe, deliveries, subject
):
    from notifications import commands

    rhian = person(language="en")
    starts = clock.now + timedelta(days=3)
    owe(
        rhian,
        kind="registration-confirmed",
        values={"starts_at": starts.isoformat(), "places": 1},
        art_event_id="e-9",
        registration_id="r-9",
        now=clock.now,
    )
    dispatcher = make_dispatcher(smtp_transport, clock=clock)
    dispatcher.send_due()
    assert deliveries(rhian)[0].reason == "waiting-for-event" and smtp_server.messages == []
    details = {
        "kind": "group-session",
        "title_cy": "Grŵp celf",
        "title_en": "Art group",
        "venue": "The Institute",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
    }
    with write_transaction(engine) as conn:
        commands.event_scheduled(conn, "e-9", details, as_of=clock.now, now=clock.now)
    clock.advance(seconds=1)
    dispatcher.send_due()
    (email,) = smtp_server.messages
    assert subject(email) == "Place booked: Art group"


def test_events_about_someone_not_counted_centrally_stay_at_the_site(
    engine, smtp_server, person, owe, deliveries, dispatcher
):
    counted, not_counted, unknown = (person(email=f"p{n}@example.org") for n in range(3))
    with write_transaction(engine) as conn:
        now = datetime.now(UTC)
        store.record_counted(conn, {counted: (True, now), not_counted: (False, now)})
    for someone in (counted, not_counted, unknown):
        owe(someone)
    wait_until(lambda: len(events(engine, NOTIFICATION_SENT)) == 3, what="three sent")
    with engine.connect() as conn:
        where = dict(conn.execute(sa.select(outbox.c.subject, outbox.c.exchange)).all())
    exchange = {who: where[str(deliveries(who)[0].id)] for who in (counted, not_counted, unknown)}
    assert exchange == {
        counted: "peerlink.events",
        not_counted: "peerlink.site-only",
        unknown: "peerlink.site-only",  # not known to have agreed: kept at the site
    }
