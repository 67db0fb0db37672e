"""What the consumer records from the events of every service, against the real broker."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from notifications import store
from notifications.handlers import subscriptions
from peerlink.consumer import Consumer
from peerlink.contracts import (
    ARTEVENT_CANCELLED,
    ARTEVENT_CHANGED,
    ARTEVENT_SCHEDULED,
    CONTACT_RECORDED,
    EVENTS_EXCHANGE,
    GUEST_CONTACT_RECORDED,
    MATCH_CONFIRMED,
    MATCH_ENDED,
    MENTOR_CONTACT_RECORDED,
    PERSON_ERASED,
    REFERRAL_ACCEPTED,
    REFERRAL_DECLINED,
    REFERRAL_PERSON_RESOLVED,
    REFERRAL_RECEIVED,
    REGISTRATION_CANCELLED,
    REGISTRATION_CONFIRMED,
    REGISTRATION_PROMOTED,
    REGISTRATION_WAITLISTED,
    SITE_ONLY_EXCHANGE,
)
from peerlink.outbox import Producer
from peerlink.tables import inbox
from peerlink.testing import (
    count_rows,
    make_envelope,
    publish_envelopes,
    running,
    sample_data,
    wait_for_consumer,
    wait_until,
)


@pytest.fixture
def consume(engine, amqp_url):
    worker = Consumer(
        engine, amqp_url, subscriptions, producer=Producer("ebbw-vale", "notifications"), retry_delays=(0.1, 0.2)
    )
    with running(worker):
        wait_for_consumer(amqp_url, "notifications.inbox")

        def publish(*envelopes, until=None, what="handled"):
            publish_envelopes(amqp_url, list(envelopes))
            if until is not None:
                wait_until(until, what=what)

        yield publish


def owed(engine, *where):
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(store.deliveries.c.kind, store.deliveries.c.recipient_id, store.deliveries.c.channel).where(
                *where
            )
        )
        return sorted((row.kind, row.recipient_id, row.channel) for row in found)


def event(event_type, **data):
    if event_type.aggregate == "registration" and "guest_id" not in data:
        data["guest_id"] = None  # sample_data would give both a person and a guest
    return make_envelope(event_type, sample_data(event_type, **data))


def test_referrals_and_contact_details_of_people_mentors_and_guests(engine, person, consume):
    """A referral owes an acknowledgement on each channel and each coordinator a note; contact
    details are kept by id with who they are."""
    contacts = [event(CONTACT_RECORDED), event(MENTOR_CONTACT_RECORDED), event(GUEST_CONTACT_RECORDED)]
    consume(*contacts, until=lambda: count_rows(engine, store.recipients) == 3)
    with engine.connect() as conn:
        kept = {row.recipient_id: row for row in conn.execute(sa.select(store.recipients))}
    for envelope, (field, audience) in zip(
        contacts, [("person_id", "person"), ("mentor_id", "mentor"), ("guest_id", "guest")], strict=True
    ):
        row = kept[envelope.data[field]]
        assert (row.audience, row.email, row.channels) == (audience, envelope.data["email"], envelope.data["channels"])
    coordinator = person(audience="coordinator", channels=("email",), given_name="Carys")
    received = event(REFERRAL_RECEIVED)
    referral, someone = received.data["referral_id"], received.data["person_id"]
    by_self = event(REFERRAL_DECLINED, person_id=someone, referral_id=referral, reason="declined-by-person")
    consume(received, received, by_self, until=lambda: count_rows(engine, store.deliveries) == 3)
    assert owed(engine) == [
        ("referral-acknowledged", someone, "email"),
        ("referral-acknowledged", someone, "sms"),
        ("referral-received-coordinator", coordinator, "email"),
    ]
    accepted = event(REFERRAL_ACCEPTED, person_id=someone, referral_id=referral)
    declined = event(REFERRAL_DECLINED, person_id=someone, referral_id=referral, reason="out-of-area")
    consume(accepted, declined, until=lambda: count_rows(engine, store.deliveries) == 7)
    with engine.connect() as conn:
        values = conn.execute(
            sa.select(store.deliveries.c["values"]).where(store.deliveries.c.kind == "referral-declined")
        ).scalars()
        assert {v["reason"] for v in values} == {"out-of-area"}


def test_a_confirmed_match_writes_to_mentee_and_mentor_and_an_ending_for_safeguarding_to_neither(engine, consume):
    confirmed = event(MATCH_CONFIRMED)
    person_id, mentor_id = confirmed.data["person_id"], confirmed.data["mentor_id"]
    ids = {k: confirmed.data[k] for k in ("match_id", "referral_id", "person_id", "mentor_id")}
    ended = event(MATCH_ENDED, **ids, reason="safeguarding")
    consume(confirmed, ended, until=lambda: count_rows(engine, store.matches, store.matches.c.status == "ended"))
    assert [(k, r) for k, r, c in owed(engine) if c == "email"] == [
        ("match-confirmed-mentee", person_id),
        ("match-confirmed-mentor", mentor_id),
    ]
    with engine.connect() as conn:
        about = dict(conn.execute(sa.select(store.deliveries.c.recipient_id, store.deliveries.c.about_id)).all())
    assert about == {person_id: mentor_id, mentor_id: person_id}
    again = event(MATCH_CONFIRMED, match_id=str(uuid.uuid4()), person_id=person_id, mentor_id=mentor_id)
    completed = event(MATCH_ENDED, **{**ids, "match_id": again.data["match_id"]}, reason="completed")
    consume(
        again,
        completed,
        until=lambda: count_rows(engine, store.deliveries, store.deliveries.c.kind == "match-ended") == 4,
    )


def test_a_match_kept_at_the_site_is_written_about_once_to_mentee_and_mentor(engine, consume, amqp_url):
    """Matching sends the match events of someone not counted centrally to peerlink.site-only
    (same type, data and routing key): notifications' inbox is bound there too, and owes the same
    messages, once, kept at the site. A copy on both exchanges (one event, one id) is one event."""

    def handled(envelope):
        return lambda: count_rows(engine, inbox, inbox.c.event_id == envelope.id) == 1

    def confirmations_handled():  # the consumer's own count of match.confirmed it ran handlers for
        labels = {"consumer": "notifications", "type": MATCH_CONFIRMED.name}
        return REGISTRY.get_sample_value("peerlink_consumer_handled_total", labels) or 0.0

    received = event(REFERRAL_RECEIVED, counted_in_figures=False)  # she did not agree to be counted
    ids = {"person_id": received.data["person_id"], "referral_id": received.data["referral_id"]}
    confirmed = event(MATCH_CONFIRMED, **ids)
    mentee, mentor = confirmed.data["person_id"], confirmed.data["mentor_id"]
    consume(received, until=handled(received))
    before = confirmations_handled()
    publish_envelopes(amqp_url, [confirmed], exchange=SITE_ONLY_EXCHANGE)
    wait_until(handled(confirmed), what="match.confirmed heard on peerlink.site-only")
    publish_envelopes(amqp_url, [confirmed], exchange=SITE_ONLY_EXCHANGE)  # redelivered on the same exchange
    publish_envelopes(
        amqp_url, [confirmed], exchange=EVENTS_EXCHANGE
    )  # and a copy on the central one, with the same id
    marker = event(CONTACT_RECORDED)  # one queue, handled in order: after the copies, so are they
    consume(marker, until=handled(marker))
    owed_for_it = owed(engine, store.deliveries.c.event_id == confirmed.id)
    assert owed_for_it == sorted(
        [("match-confirmed-mentee", mentee, channel) for channel in ("email", "sms")]
        + [("match-confirmed-mentor", mentor, channel) for channel in ("email", "sms")]
    )
    assert confirmations_handled() - before == 1  # the copies were skipped, not run again
    ended = event(MATCH_ENDED, **{k: confirmed.data[k] for k in ("match_id", "mentor_id")}, **ids, reason="completed")
    publish_envelopes(amqp_url, [ended], exchange=SITE_ONLY_EXCHANGE)
    wait_until(handled(ended), what="match.ended heard on peerlink.site-only")
    assert owed(engine, store.deliveries.c.event_id == ended.id) == sorted(
        [("match-ended", who, channel) for who in (mentee, mentor) for channel in ("email", "sms")]
    )
    with engine.connect() as conn:
        kept = conn.execute(
            sa.select(store.deliveries.c.site_only).where(store.deliveries.c.event_id.in_([confirmed.id, ended.id]))
        ).scalars()
        assert set(kept) == {True}  # about her: what is sent is told at the site only
        assert store.get_match(conn, confirmed.data["match_id"]).status == "ended"


def test_registrations_reminders_and_the_changes_and_cancellations_of_events(engine, person, consume):
    """Registrations owe their messages and a confirmed place a reminder; a moved event moves its
    reminders and tells who is booked; a cancelled one drops them."""
    scheduled = event(ARTEVENT_SCHEDULED, starts_at=datetime.now(UTC) + timedelta(days=7))
    art_event, starts = scheduled.data["event_id"], scheduled.data["starts_at"]
    on = {"event_id": art_event, "starts_at": datetime.fromisoformat(starts)}
    confirmed = event(REGISTRATION_CONFIRMED, **on)
    guest = event(REGISTRATION_WAITLISTED, **on, person_id=None, guest_id=uuid.uuid4(), position=1)
    promoted = event(
        REGISTRATION_PROMOTED,
        **on,
        registration_id=guest.data["registration_id"],
        person_id=None,
        guest_id=guest.data["guest_id"],
    )
    consume(scheduled, confirmed, guest, until=lambda: count_rows(engine, store.registrations) == 2)
    consume(promoted, until=lambda: count_rows(engine, store.reminders) == 2)
    assert [(k, r) for k, r, c in owed(engine) if c == "email"] == sorted(
        [
            ("registration-confirmed", confirmed.data["person_id"]),
            ("registration-waitlisted", guest.data["guest_id"]),
            ("registration-promoted", guest.data["guest_id"]),
        ]
    )
    with engine.connect() as conn:
        reminders = conn.execute(sa.select(store.reminders)).all()
    assert {(r.status, r.starts_at.isoformat()) for r in reminders} == {
        ("scheduled", datetime.fromisoformat(starts).isoformat())
    }
    cancelled = event(
        REGISTRATION_CANCELLED,
        **on,
        registration_id=confirmed.data["registration_id"],
        person_id=confirmed.data["person_id"],
    )
    consume(cancelled, until=lambda: count_rows(engine, store.reminders, store.reminders.c.status == "cancelled") == 1)
    scheduled = event(ARTEVENT_SCHEDULED, starts_at=datetime.now(UTC) + timedelta(days=7))
    art_event = scheduled.data["event_id"]
    on = {"event_id": art_event, "starts_at": datetime.fromisoformat(scheduled.data["starts_at"])}
    booked = [event(REGISTRATION_CONFIRMED, **on) for _ in range(2)]
    consume(scheduled, *booked, until=lambda: count_rows(engine, store.reminders) == 4)
    details = {k: v for k, v in ARTEVENT_SCHEDULED.load(scheduled.data).items() if k != "scheduled_at"}
    later = datetime.now(UTC) + timedelta(days=8)
    bigger = event(ARTEVENT_CHANGED, **{**details, "capacity": 20, "changed": ["capacity"]})
    moved = event(
        ARTEVENT_CHANGED,
        **{**details, "starts_at": later, "ends_at": later + timedelta(hours=2), "changed": ["starts_at", "ends_at"]},
    )
    consume(
        bigger,
        moved,
        until=lambda: count_rows(engine, store.deliveries, store.deliveries.c.kind == "event-changed") == 4,
    )
    with engine.connect() as conn:
        starts = set(
            conn.execute(
                sa.select(store.reminders.c.starts_at).where(store.reminders.c.art_event_id == art_event)
            ).scalars()
        )
    assert starts == {later.replace(microsecond=later.microsecond)}
    cancelled = event(ARTEVENT_CANCELLED, event_id=art_event, starts_at=later)
    consume(
        cancelled, until=lambda: count_rows(engine, store.deliveries, store.deliveries.c.kind == "event-cancelled") == 4
    )
    assert count_rows(engine, store.reminders, store.reminders.c.status == "cancelled") == 3


def test_an_erased_person_s_details_go_and_later_details_for_them_are_refused(engine, consume):
    contact = event(CONTACT_RECORDED)
    someone = contact.data["person_id"]
    erased = event(PERSON_ERASED, person_id=someone)
    consume(
        contact,
        erased,
        contact,
        until=lambda: count_rows(engine, store.recipients, store.recipients.c.erased_at.isnot(None)),
    )
    late = event(CONTACT_RECORDED, person_id=someone)
    marker = event(CONTACT_RECORDED)
    consume(late, marker, until=lambda: count_rows(engine, store.recipients) == 2)
    with engine.connect() as conn:
        row = conn.execute(sa.select(store.recipients).where(store.recipients.c.recipient_id == someone)).one()
    assert (row.given_name, row.email, row.phone) == (None, None, None)


def test_a_possible_duplicate_is_acknowledged_only_once_answered_and_to_whoever_it_is(engine, person, consume):
    """A referral linked to Rhian (``known_person``) may be a namesake's, or anyone's in her name:
    its acknowledgement is held, not sent to her known address, and its consent to be counted is
    not hers, until a coordinator's answer says whose it is. Coordinators hear of it at once."""
    coordinator = person(audience="coordinator", channels=("email",), given_name="Carys")
    rhian = person()
    earlier, later = datetime.now(UTC) - timedelta(days=30), datetime.now(UTC)
    hers = event(REFERRAL_RECEIVED, person_id=rhian, counted_in_figures=False, received_at=earlier)

    def linked(counted=True, received_at=later):
        return event(
            REFERRAL_RECEIVED, person_id=rhian, known_person=True, counted_in_figures=counted, received_at=received_at
        )

    def answer(received, person_id, status="received"):
        return event(
            REFERRAL_PERSON_RESOLVED,
            referral_id=received.data["referral_id"],
            person_id=person_id,
            linked_person_id=rhian,
            resolution="same-person" if person_id == rhian else "different-person",
            counted_in_figures=received.data["counted_in_figures"],
            referral_status=status,
            received_at=datetime.fromisoformat(received.data["received_at"]),
        )

    def handled(count):
        return lambda: count_rows(engine, inbox) == count

    namesakes, maybe_hers, withdrawn = linked(), linked(counted=False), linked()
    consume(hers, namesakes, maybe_hers, withdrawn, until=handled(4))
    acknowledged = [r for k, r, c in owed(engine, store.deliveries.c.kind == "referral-acknowledged")]
    assert acknowledged == [rhian, rhian]  # her own referral's, by email and text; none of the three
    notes = owed(engine, store.deliveries.c.kind == "referral-received-coordinator")
    assert notes == [("referral-received-coordinator", coordinator, "email")] * 4
    with engine.connect() as conn:
        assert store.counted_people(conn, [rhian]) == set()  # her own no stands, the linked yes is not hers

    # A namesake: their details come just before the answer, and the acknowledgement goes to them.
    namesake = str(uuid.uuid4())
    their_details = event(CONTACT_RECORDED, person_id=namesake, email="rhian.other@example.net")
    consume(
        their_details,
        answer(namesakes, namesake),
        answer(withdrawn, str(uuid.uuid4()), status="withdrawn"),
        until=handled(7),
    )
    on_their_event = owed(engine, store.deliveries.c.event_id == namesakes.id, store.deliveries.c.audience == "person")
    assert on_their_event == [("referral-acknowledged", namesake, "email"), ("referral-acknowledged", namesake, "sms")]
    # Withdrawn before anyone answered: nobody is told it was received.
    assert owed(engine, store.deliveries.c.event_id == withdrawn.id, store.deliveries.c.audience == "person") == []
    # One was hers after all: acknowledged to her, now that a coordinator has said so.
    consume(answer(maybe_hers, rhian), until=handled(8))
    on_hers = owed(engine, store.deliveries.c.event_id == maybe_hers.id, store.deliveries.c.audience == "person")
    assert on_hers == [("referral-acknowledged", rhian, "email"), ("referral-acknowledged", rhian, "sms")]
    # Another answer arrives before its referral (a retry came late): the referral is not held then.
    late = linked(received_at=later - timedelta(days=1))
    consume(answer(late, rhian), until=handled(9))
    assert owed(engine, store.deliveries.c.event_id == late.id) == []
    consume(late, until=handled(10))
    on_late = owed(engine, store.deliveries.c.event_id == late.id, store.deliveries.c.audience == "person")
    assert on_late == [("referral-acknowledged", rhian, "email"), ("referral-acknowledged", rhian, "sms")]
    with engine.connect() as conn:
        assert store.counted_people(conn, [rhian, namesake]) == {namesake}  # hers is a newer no, theirs a yes
        sites_only = dict(
            conn.execute(
                sa.select(store.deliveries.c.event_id, store.deliveries.c.site_only).where(
                    store.deliveries.c.kind == "referral-received-coordinator"
                )
            ).all()
        )
    # Whose it is not known, a note's events follow the referral's own consent.
    assert (sites_only[namesakes.id], sites_only[maybe_hers.id]) == (False, True)
