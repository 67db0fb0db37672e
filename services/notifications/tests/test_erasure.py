"""person.erased: contact details and message bodies go, who-got-what-when stays as counts."""

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from notifications import commands, store
from peerlink.contracts import NOTIFICATION_SENT
from peerlink.db import write_transaction
from peerlink.tables import outbox
from peerlink.testing import find_personal_data


def test_erasure_takes_details_and_bodies_and_keeps_the_counts(engine, person, owe, deliveries):
    rhian = person(given_name="Rhian", email="rhian@example.org", phone="+447700900123", channels=("email", "sms"))
    mentor = person(audience="mentor", given_name="Gareth", email="gareth@example.org", phone=None)
    now = datetime.now(UTC)
    sent_event = owe(rhian)
    owe(rhian, kind="referral-accepted", values={"reference": "5F0C6F0E", "reentry": False})
    owe(mentor, kind="please-phone", audience="mentor", values={"about_kind": "event-reminder"}, about_id=rhian)
    with write_transaction(engine) as conn:
        for row in conn.execute(sa.select(store.deliveries)).all():
            if (row.event_id == sent_event and row.channel == "email") or row.kind == "please-phone":
                conn.execute(
                    store.deliveries.update()
                    .where(store.deliveries.c.id == row.id)
                    .values(status="sent", subject="Helo Rhian", body="Helo Rhian, ... Rhian", attempts=1)
                )
        commands.schedule_reminder(
            conn,
            registration_id="r-1",
            art_event_id="e-1",
            recipient_id=rhian,
            audience="person",
            starts_at=now + timedelta(days=3),
            booked_at=now,
            now=now,
        )
    before = len(deliveries())

    with write_transaction(engine) as conn:
        commands.erase_person(conn, rhian, now)

    with engine.connect() as conn:
        left = "\n".join(
            str(tuple(row)) for table in (store.recipients, store.deliveries) for row in conn.execute(sa.select(table))
        )
        erased = conn.execute(sa.select(store.recipients).where(store.recipients.c.recipient_id == rhian)).one()
        reminder = conn.execute(sa.select(store.reminders)).one()
    assert find_personal_data(left, known=("Rhian",)) == ["gareth@example.org"]
    assert erased.erased_at is not None and erased.channels == []
    assert len(deliveries()) == before  # the counts stay
    statuses = sorted((d.kind, d.channel, d.status, d.reason) for d in deliveries(rhian))
    assert statuses == [
        ("referral-accepted", "email", "skipped", "person-erased"),
        ("referral-accepted", "sms", "skipped", "person-erased"),
        ("referral-acknowledged", "email", "sent", None),
        ("referral-acknowledged", "sms", "skipped", "person-erased"),
    ]
    assert reminder.status == "cancelled"
    assert "Gareth" in left  # the mentor was not erased, only what named Rhian


class ErasingAfter:
    """A transport through which ``person.erased`` for someone arrives right after a message to
    ``address`` was accepted: between the sender's claim and its record of the outcome."""

    def __init__(self, transport, engine, address: str, erase: str):
        self.name = transport.name
        self.transport, self.engine, self.address, self.erase = transport, engine, address, erase

    def send(self, message):
        receipt = self.transport.send(message)
        if message.to == self.address:
            with write_transaction(self.engine) as conn:
                commands.erase_person(conn, self.erase, datetime.now(UTC))
        return receipt

    def idle(self) -> None:
        self.transport.idle()

    def fresh(self):
        return self


def outbox_events(engine, event_type) -> list[dict]:
    with engine.connect() as conn:
        bodies = conn.execute(sa.select(outbox.c.body).where(outbox.c.event_type == event_type.name)).scalars()
        return [json.loads(body) for body in bodies]


def test_a_message_sent_as_its_person_is_erased_is_counted_as_sent_and_its_words_are_not_kept(
    engine, smtp_server, smtp_transport, make_dispatcher, person, owe, deliveries
):
    rhian = person(given_name="Rhian", email="rhian@example.org")
    owe(rhian)
    make_dispatcher(ErasingAfter(smtp_transport, engine, "rhian@example.org", erase=rhian)).send_due()
    assert [m["To"] for m in smtp_server.messages] == ["rhian@example.org"]
    email = deliveries(rhian)[0]
    assert (email.status, email.subject, email.body, email.attempts) == ("sent", None, None, 1)
    with engine.connect() as conn:
        left = "\n".join(str(tuple(row)) for row in conn.execute(sa.select(store.deliveries)))
    assert find_personal_data(left, known=("Rhian", "derbyn")) == []
    (sent,) = outbox_events(engine, NOTIFICATION_SENT)  # it went: the figures count it
    assert sent["data"]["delivery_id"] == str(email.id)


def test_a_message_whose_person_is_erased_while_it_waits_its_turn_in_a_batch_is_not_sent(
    engine, smtp_server, smtp_transport, make_dispatcher, person, owe, deliveries
):
    gareth = person(given_name="Gareth", email="gareth@example.org")
    rhian = person(given_name="Rhian", email="rhian@example.org")
    owe(gareth)
    owe(rhian)  # claimed with Gareth's, sent after it
    make_dispatcher(ErasingAfter(smtp_transport, engine, "gareth@example.org", erase=rhian)).send_due()
    assert [m["To"] for m in smtp_server.messages] == ["gareth@example.org"]
    email = deliveries(rhian)[0]
    assert (email.status, email.reason, email.body) == ("skipped", "person-erased", None)
    assert deliveries(gareth)[0].body is not None  # only what is Rhian's goes


def test_a_digest_sent_as_someone_it_names_is_erased_keeps_none_of_its_words(engine, person, owe, deliveries):
    """Erasure clears the digests that name the person; one still being sent must not write its
    words back afterwards."""
    rhian = person(given_name="Rhian")
    carys = person(audience="coordinator", given_name="Carys", email="carys@example.org", channels=("email",))
    owe(carys, kind="please-phone", audience="coordinator", values={"about_kind": "event-reminder"}, about_id=rhian)
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        (item,) = deliveries(carys)
        (digest,) = store.owe(
            conn,
            event_id="digest:2026-12-01",
            kind="digest",
            recipient_id=carys,
            audience="coordinator",
            channels=("email",),
            values={"day": "2026-12-01", "count": 1},
            now=now,
        )
        conn.execute(store.deliveries.update().where(store.deliveries.c.id == item.id).values(status="digested"))
        store.put_in_digest(conn, [item.id], digest)
        claimed = [row for row in store.claim_due(conn, "email", now, now + timedelta(minutes=10), 10)]
    (held,) = [row for row in claimed if row.id == digest]
    with write_transaction(engine) as conn:
        commands.erase_person(conn, rhian, now)
    with write_transaction(engine) as conn:
        words = {"subject": "Your daily digest", "body": "Please phone Rhian"}
        sent = {"attempts": 1, "sent_at": now, "languages": "en", "segments": None, "provider": "smtp"}
        assert store.settle_sent(conn, digest, held.claimed_until, kind="digest", **words, **sent, provider_ref=None)
    (sent,) = [row for row in deliveries(carys) if row.id == digest]
    assert (sent.status, sent.subject, sent.body) == ("sent", None, None)
