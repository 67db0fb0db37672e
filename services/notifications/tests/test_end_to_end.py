"""Every kind of message, in Welsh and in English, from the events of the other services through
the real broker to a real SMTP server; every event delivered twice, every message sent once."""

import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.handlers import subscriptions
from notifications.scheduler import Scheduler
from peerlink.consumer import Consumer
from peerlink.contracts import (
    ARTEVENT_CANCELLED,
    ARTEVENT_CHANGED,
    ARTEVENT_SCHEDULED,
    CONTACT_RECORDED,
    MATCH_CONFIRMED,
    MATCH_ENDED,
    MENTOR_CONTACT_RECORDED,
    REFERRAL_ACCEPTED,
    REFERRAL_DECLINED,
    REFERRAL_RECEIVED,
    REGISTRATION_CONFIRMED,
    REGISTRATION_PROMOTED,
    REGISTRATION_WAITLISTED,
)
from peerlink.contracts.vocabulary import MESSAGE_KINDS
from peerlink.outbox import Producer
from peerlink.testing import make_envelope, publish_envelopes, running, sample_data, wait_for_consumer, wait_until

LANGUAGES = ("cy", "en")
TO_PEOPLE = (
    "referral-acknowledged",
    "referral-accepted",
    "referral-declined",
    "match-confirmed-mentee",
    "match-ended",
    "registration-confirmed",  # the event in three hours
    "event-reminder",  # of it, booked two days ago: due now
    "event-changed",  # its venue
    "registration-waitlisted",
    "registration-promoted",
    "registration-confirmed",  # the event in ten days, cancelled later
)
# Two matches each (one with someone who agreed only to be phoned: the mentor is asked to call).
TO_MENTORS = ("match-confirmed-mentor", "match-confirmed-mentor", "match-ended", "please-phone")


def event(event_type, **data):
    if event_type.aggregate == "registration":
        data.setdefault("guest_id", None)
    return make_envelope(event_type, sample_data(event_type, **data))


def contact(event_type, field, recipient_id, language, channels=("email",)):
    return event(
        event_type,
        **{field: recipient_id},
        given_name=f"Name-{language}",
        email=f"{field}-{language}@example.org" if "email" in channels else None,
        phone=None,
        preferred_language=language,
        channels=list(channels),
        safe_to_text=False,
    )


def on(scheduled):
    return {"event_id": scheduled.data["event_id"], "starts_at": datetime.fromisoformat(scheduled.data["starts_at"])}


@pytest.fixture
def publish(engine, amqp_url, make_dispatcher, smtp_transport):
    """The worker of a site (consumer, senders, scheduler); publishes every event twice."""
    consumer = Consumer(
        engine, amqp_url, subscriptions, producer=Producer("ebbw-vale", "notifications"), retry_delays=(0.1, 0.2)
    )
    london = ZoneInfo("Europe/London")
    scheduler = Scheduler(engine, reminder_before=timedelta(hours=24), digest_at=time(8), zone=london, poll=0.05)
    with running(consumer, make_dispatcher(smtp_transport), make_dispatcher(None, channel="sms"), scheduler):
        wait_for_consumer(amqp_url, "notifications.inbox")
        yield lambda envelopes: publish_envelopes(amqp_url, [e for e in envelopes for _ in range(2)])


def test_every_kind_reaches_welsh_and_english_speakers_once_each(person, publish, smtp_server, deliveries):
    now = datetime.now(UTC)
    for lang in LANGUAGES:
        person(audience="coordinator", channels=("email",), language=lang, email=f"coordinator-{lang}@example.org")
    soon, later, far = (
        event(ARTEVENT_SCHEDULED, starts_at=at, ends_at=at + timedelta(hours=2))
        for at in (now + timedelta(hours=3), now + timedelta(days=5), now + timedelta(days=10))
    )
    envelopes = [soon, later, far]
    for lang in LANGUAGES:
        person_id, mentor_id, phone_only = (str(uuid.uuid4()) for _ in range(3))
        received = event(REFERRAL_RECEIVED, person_id=person_id)
        confirmed = event(MATCH_CONFIRMED, person_id=person_id, mentor_id=mentor_id)
        pair = {k: confirmed.data[k] for k in ("match_id", "referral_id", "person_id", "mentor_id")}
        envelopes += [
            contact(CONTACT_RECORDED, "person_id", person_id, lang),
            contact(MENTOR_CONTACT_RECORDED, "mentor_id", mentor_id, lang),
            contact(CONTACT_RECORDED, "person_id", phone_only, lang, channels=("phone",)),
            received,
            event(REFERRAL_ACCEPTED, person_id=person_id, referral_id=received.data["referral_id"]),
            event(REFERRAL_DECLINED, person_id=person_id, reason="out-of-area"),
            confirmed,
            event(MATCH_ENDED, **pair, reason="completed"),
            event(MATCH_CONFIRMED, person_id=phone_only, mentor_id=mentor_id),
            event(REGISTRATION_CONFIRMED, person_id=person_id, **on(soon), confirmed_at=now - timedelta(days=2)),
            event(REGISTRATION_WAITLISTED, person_id=person_id, **on(later), position=2),
            event(REGISTRATION_PROMOTED, person_id=person_id, **on(later)),
            event(REGISTRATION_CONFIRMED, person_id=person_id, **on(far)),
        ]
    details = {k: v for k, v in ARTEVENT_SCHEDULED.load(soon.data).items() if k != "scheduled_at"}
    envelopes.append(event(ARTEVENT_CHANGED, **{**details, "venue": "Ebbw Vale Library", "changed": ["venue"]}))

    expected = Counter()
    for lang in LANGUAGES:
        for kind in TO_PEOPLE:
            expected[(f"person_id-{lang}@example.org", kind, lang)] += 1
        for kind in TO_MENTORS:
            expected[(f"mentor_id-{lang}@example.org", kind, lang)] += 1
        expected[(f"coordinator-{lang}@example.org", "referral-received-coordinator", lang)] += 2

    def received():
        return Counter((m["To"], m["X-Peerlink-Kind"], m["Content-Language"]) for m in smtp_server.messages)

    publish(envelopes)
    wait_until(lambda: received() == expected, timeout=30, what=f"{sum(expected.values())} emails")
    publish([event(ARTEVENT_CANCELLED, event_id=far.data["event_id"], starts_at=on(far)["starts_at"])])
    for lang in LANGUAGES:
        expected[(f"person_id-{lang}@example.org", "event-cancelled", lang)] += 1
    wait_until(lambda: received() == expected, timeout=30, what="the cancellations")
    wait_until(lambda: all(d.status != "pending" for d in deliveries()), what="every delivery settled")
    assert received() == expected  # nothing twice

    assert {kind for _, kind, _ in expected} | {"digest"} == set(MESSAGE_KINDS)  # the digest: test_reminders
    changed = [m for m in smtp_server.messages if m["X-Peerlink-Kind"] == "event-changed"]
    assert all("Ebbw Vale Library" in m.get_payload(decode=True).decode() for m in changed)
