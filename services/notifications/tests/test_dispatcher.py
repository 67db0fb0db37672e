"""Sending through a real SMTP server (aiosmtpd)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from notifications import store
from notifications.dispatcher import Dispatcher
from notifications.domain import Recipient
from notifications.mail import SmtpSender
from peerlink.db import write_transaction
from peerlink.testing import running, wait_until

FAST = (timedelta(milliseconds=100), timedelta(milliseconds=200))


def owe(engine, *, language="cy", channels=("email",), email="rhian@example.org", known=True) -> str:
    person_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        if known:
            store.upsert_recipient(
                conn, Recipient(person_id, "Rhian", email, None, language, tuple(channels), False), now
            )
        store.owe_message(
            conn,
            event_id=str(uuid.uuid4()),
            kind="referral-acknowledged",
            person_id=person_id,
            channel="email",
            values={"reference": "5F0C6F0E", "site": "ebbw-vale"},
            now=now,
        )
    return person_id


def delivery(engine, person_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(store.deliveries).where(store.deliveries.c.person_id == person_id)).one()


@pytest.fixture
def dispatcher(engine, smtp_server):
    sender = SmtpSender.from_url(smtp_server.url, "Peerlink <no-reply@ebbw-vale.peerlink.invalid>")
    worker = Dispatcher(
        engine, sender, site="ebbw-vale", poll=0.05, retry_delays=FAST, wait_for_contact=timedelta(seconds=30)
    )
    with running(worker):
        yield worker


def test_a_welsh_speaker_gets_the_acknowledgement_in_welsh(engine, smtp_server, dispatcher):
    person = owe(engine, language="cy")
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "Rydym wedi derbyn eich atgyfeiriad"
    assert message["To"] == "rhian@example.org"
    assert message["Content-Language"] == "cy"
    assert "Glynebwy" in message.get_payload(decode=True).decode()
    wait_until(lambda: delivery(engine, person).status == "sent", what="recorded as sent")
    row = delivery(engine, person)
    assert row.attempts == 1 and row.languages == "cy"
    assert message["Message-ID"] == f"<{row.id}@ebbw-vale.peerlink>"


def test_an_unknown_language_preference_gets_both_welsh_first(engine, smtp_server, dispatcher):
    owe(engine, language=None)
    (message,) = smtp_server.wait_for(1)
    body = message.get_payload(decode=True).decode()
    assert message["Subject"] == "Rydym wedi derbyn eich atgyfeiriad / We have received your referral"
    assert body.index("Helo Rhian") < body.index("Hello Rhian")


def test_a_server_that_refuses_then_accepts_gets_the_message_once(engine, smtp_server, dispatcher):
    smtp_server.refuse(2)
    person = owe(engine)
    smtp_server.wait_for(1)
    wait_until(lambda: delivery(engine, person).status == "sent", what="sent after two refusals")
    assert smtp_server.refused == 2
    assert len(smtp_server.messages) == 1
    assert delivery(engine, person).attempts == 3


def test_a_permanent_refusal_is_recorded_as_failed(engine, smtp_server, dispatcher):
    smtp_server.refuse(1, "550 5.1.1 No such mailbox")
    person = owe(engine)
    wait_until(lambda: delivery(engine, person).status == "failed", what="marked failed")
    assert "550" in delivery(engine, person).last_error
    assert smtp_server.messages == []


def test_nothing_is_sent_without_consent_to_email(engine, smtp_server, dispatcher):
    person = owe(engine, channels=("sms",))
    wait_until(lambda: delivery(engine, person).status == "skipped", what="skipped")
    assert "not agreed" in delivery(engine, person).last_error
    assert smtp_server.messages == []


def test_a_message_waits_for_contact_details_and_goes_when_they_arrive(engine, smtp_server, dispatcher):
    person = owe(engine, known=False)
    wait_until(lambda: delivery(engine, person).last_error == "waiting for contact details", what="waiting")
    assert delivery(engine, person).status == "pending" and smtp_server.messages == []
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        store.upsert_recipient(
            conn, Recipient(person, "Rhian", "rhian@example.org", None, "en", ("email",), False), now
        )
        store.expedite(conn, person, now)
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "We have received your referral"
    wait_until(lambda: delivery(engine, person).status == "sent", what="sent")
