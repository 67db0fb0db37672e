"""One referral travelling end to end through real processes, the real broker and a real SMTP server:
``POST /referrals`` -> outbox -> relay -> RabbitMQ -> notifications' inbox -> an email, once."""

import json
import sqlite3

import httpx
import psycopg
import pytest

from notifications.handlers import subscriptions as notifications_subscriptions
from peerlink.contracts import CATALOGUE
from peerlink.db import normalize_url
from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import count_rows, find_personal_data, wait_for_consumer, wait_for_http, wait_until

BACKENDS = pytest.mark.parametrize("new_database_url", ["sqlite", "postgresql"], indirect=True)
PERSONAL = ("Rhian", "Pritchard", "1985-03-02")

E2E_ID = "7a1b2c3d-4e5f-4061-8728-394a5b6c7d8e"


def start_notifications(processes, site_env, databases):
    worker = processes("peerlink-notifications", "work", env=site_env("notifications", databases["notifications"]))
    return worker


@BACKENDS
def test_a_referral_posted_over_http_becomes_one_acknowledgement_email(
    processes, site_env, databases, amqp_url, tokens, smtp_server, spy, body
):
    # Referrals' own events (notifications adds its notification.sent to peerlink.events too).
    public, private = spy("peerlink.events", "*.referral.*"), spy("peerlink.private")
    start_notifications(processes, site_env, databases)
    wait_for_consumer(amqp_url, "notifications.inbox")
    env = site_env("referrals", databases["referrals"])
    processes("peerlink-referrals", "serve", env=env)
    processes("peerlink-referrals", "work", env=env)
    base = f"http://127.0.0.1:{env['PEERLINK_PORT']}"
    wait_for_http(f"{base}/health/live")

    response = httpx.post(f"{base}/referrals", json=body(), headers={**tokens.header(), "X-Correlation-ID": E2E_ID})
    assert response.status_code == 201, response.text

    (email,) = smtp_server.wait_for(1, timeout=30)
    assert email["To"] == "rhian@example.org"
    assert email["Subject"] == "Rydym wedi derbyn eich atgyfeiriad"
    assert response.json()["id"][:8].upper() in email.get_payload(decode=True).decode()

    (received,) = public.wait_for(1)
    (contact,) = private.wait_for(1)
    for message in (received, contact):
        envelope = parse_envelope(message.body)
        assert envelope.correlationid == E2E_ID
        # Contract: what the producer emitted is what the consumer's own schema accepts.
        consumer_type = notifications_subscriptions.types[envelope.type]
        consumer_type.load(envelope.data)
    # Nothing personal on the pseudonymous exchange; the private one has it all.
    text = received.body.decode() if isinstance(received.body, bytes) else received.body
    assert find_personal_data(text, known=PERSONAL) == []
    private_text = contact.body.decode() if isinstance(contact.body, bytes) else contact.body
    assert len(find_personal_data(private_text, known=PERSONAL)) >= 4

    # Another Rhian Pritchard born the same day, with an address and number of her own: linked to
    # Rhian as a possible duplicate, so its acknowledgement is held, never sent to Rhian's address.
    # A coordinator says it is someone else: her new details, then the answer, reach notifications,
    # and the held acknowledgement goes to her, in her language, once.
    namesake = body(email="rhian.other@example.net", language="en")
    namesake["person"]["contact"]["phone"] = "+447700900777"
    linked = httpx.post(f"{base}/referrals", json=namesake, headers=tokens.header()).json()
    assert linked["duplicate_pending"] is True and linked["person_id"] == response.json()["person_id"]
    answered = httpx.post(
        f"{base}/referrals/{linked['id']}/duplicate-check/resolve",
        json={"decision": "different-person"},
        headers=tokens.header(),
    )
    assert answered.status_code == 200, answered.text
    first, theirs = smtp_server.wait_for(2, timeout=30)
    assert (first["To"], theirs["To"]) == ("rhian@example.org", "rhian.other@example.net")
    assert theirs["Subject"] == "We have received your referral"
    assert linked["id"][:8].upper() in theirs.get_payload(decode=True).decode()
    resolved = public.wait_for(3)[-1]  # received, received, person-resolved
    text = resolved.body.decode() if isinstance(resolved.body, bytes) else resolved.body
    answer = parse_envelope(text)
    assert answer.type == "peerlink.referral.person-resolved.v1"
    notifications_subscriptions.types[answer.type].load(answer.data)  # the consumer's own schema takes it
    assert find_personal_data(text, known=(*PERSONAL, "rhian.other")) == []
    assert httpx.get(f"{base}/health/ready").json()["status"] == "ok"


class OutboxLock:
    """Holds a write lock on the referrals outbox so the relay can publish but not mark rows sent."""

    def __init__(self, url: str):
        parsed = normalize_url(url)
        if parsed.get_backend_name() == "sqlite":
            self.connection = sqlite3.connect(parsed.database, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            self.connection = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
            self.connection.execute("SELECT position FROM peerlink_outbox FOR UPDATE").fetchall()

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


@BACKENDS
def test_a_relay_killed_between_publish_and_mark_sent_causes_no_second_email(
    processes, site_env, databases, amqp_url, tokens, smtp_server, spy, body
):
    from peerlink.testing import settings_for
    from referrals.app import create_app

    public = spy("peerlink.events", "*.referral.*")  # not notifications' own notification.sent
    start_notifications(processes, site_env, databases)
    wait_for_consumer(amqp_url, "notifications.inbox")
    referrals_url = databases["referrals"]
    api = create_app(settings_for("referrals", database_url=referrals_url, amqp_url=amqp_url, tokens=tokens.config()))
    engine = api.extensions["peerlink"].engine
    try:
        response = api.test_client().post("/referrals", json=body(), headers=tokens.header())
        assert response.status_code == 201

        lock = OutboxLock(referrals_url)
        try:
            relay = processes("peerlink-referrals", "work", "--only", "relay", env=site_env("referrals", referrals_url))
            public.wait_for(1, timeout=30)  # published and confirmed; marking it sent is blocked by our lock
            relay.assert_alive()
            relay.kill()
        finally:
            lock.release()
        assert count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 2  # both still unsent

        processes("peerlink-referrals", "work", "--only", "relay", env=site_env("referrals", referrals_url))
        public.wait_for(2, timeout=30)  # the same event again: a duplicate on the wire
        wait_until(lambda: count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 0, what="marked sent")
        ids = [m.properties["message_id"] for m in public.received]
        assert len(ids) == 2 and len(set(ids)) == 1

        # A later referral's email proves the consumer has gone past the duplicates. It must be
        # someone who matches Rhian on nothing. The same name and date of birth, email or phone
        # links a referral to her as a possible duplicate, and a possible duplicate changes
        # nothing about her and records no contact details until a coordinator says who it is
        # (anyone could have sent it): its acknowledgement is held until then (see the test
        # above), so it would send nothing here. c552740 gave this referral another name and
        # birthday but left it her phone number, so it was still linked to her and its address
        # then replaced hers: that is how the later email arrived, and it is the takeover now closed.
        someone_else = body(email="later@example.org")
        someone_else["person"].update(given_name="Elin", date_of_birth="1990-07-14")
        someone_else["person"]["contact"]["phone"] = "+447700900456"
        later = api.test_client().post("/referrals", json=someone_else, headers=tokens.header())
        assert later.status_code == 201
        smtp_server.wait_for(2, timeout=30)
        wait_until(lambda: any(m["To"] == "later@example.org" for m in smtp_server.messages), what="the later email")
    finally:
        engine.dispose()
    recipients = sorted(m["To"] for m in smtp_server.messages)
    assert recipients == ["later@example.org", "rhian@example.org"]  # exactly one email each


def test_every_subscribed_event_type_is_in_the_catalogue_and_its_example_is_accepted():
    for name, event_type in notifications_subscriptions.types.items():
        assert CATALOGUE.get(name) is event_type
        event_type.load(json.loads(json.dumps(event_type.example)))
