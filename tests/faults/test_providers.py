"""The mail server and the text-message provider fail, are slow, then recover, while referrals
taken over HTTP owe acknowledgements by email and by text: after recovery every message has gone
exactly once (counted per recipient at the mail server and at the provider), the retries show in
the attempt counts, nothing was parked, and the one address the mail server bounces for good
(a 5xx) is recorded as failed after that one try, not retried.

What fails, in order (each fault is what a provider really does; the client timeouts are the
service's own: 15 s for SMTP, 10 s for the text API):
- email: the server is down (connections refused), then answers 451 (try later), then keeps
  sessions waiting beyond the client's timeout, then recovers; one address bounces (550 5.1.1);
- texts: the provider answers 500, then keeps requests waiting beyond the client's timeout,
  then recovers.
"""

import random
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from notifications.app import DEFINITION as NOTIFICATIONS
from notifications.store import deliveries
from peerlink import parking
from peerlink.db import create_engine
from peerlink.testing import wait_for_consumer, wait_until
from peerlink.topology import ConsumerQueues

from ._sites import ReferralsSite, service_env

SITE = "ebbw-vale"
PEOPLE = 6
BOUNCING = "p0.bounces@example.org"
SMTP_TIMEOUT, SMS_TIMEOUT = 15.0, 10.0  # notifications' own client timeouts
# Enough attempts that no delivery gives up during the outage (each fault costs one at most).
SEND_RETRY_DELAYS = "300ms,500ms,700ms,1s,1200ms,1500ms,2s,2500ms,3s,4s"


@pytest.fixture
def site(amqp_url, new_database_url, postgres_url, tokens, processes, smtp_server, sms_provider):
    NOTIFICATIONS.migrations.upgrade(postgres_url)
    env = service_env(
        SITE,
        postgres_url,
        amqp_url,
        tokens,
        PEERLINK_SMTP_URL=smtp_server.url,
        PEERLINK_SEND_RETRY_DELAYS=SEND_RETRY_DELAYS,
        PEERLINK_SMS_INBOUND_POLL="off",
        PEERLINK_QUIET_HOURS="off",
        **sms_provider.env(),
    )
    worker = processes("peerlink-notifications", "work", env=env)
    referrals = ReferralsSite(SITE, amqp_url, new_database_url("referrals"), tokens, processes)
    wait_for_consumer(amqp_url, "notifications.inbox", timeout=60)
    referrals.wait_ready()
    engine = create_engine(postgres_url, poolclass=sa.pool.NullPool)
    yield referrals, worker, engine
    referrals.close()
    engine.dispose()


def refer(referrals: ReferralsSite, n: int) -> None:
    referrals.call(
        "POST",
        "/referrals",
        {
            "site": SITE,
            "person": {
                "given_name": f"Person{n}",
                "family_name": "Evans",
                "date_of_birth": f"{1970 + n}-02-03",  # names differ only by a digit: not a person's key
                "preferred_language": random.choice(["cy", "en"]),
                "contact": {
                    "email": BOUNCING if n == 0 else f"p{n}@example.org",
                    "phone": f"+4477009002{n:02d}",
                    "channels": ["email", "sms"],
                    "safe_to_text": True,
                },
            },
            "source": "self",
            "support_needs": ["isolation"],
            "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
        },
    )


def rows(engine, channel: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(deliveries).where(deliveries.c.channel == channel)).all()


def describe(engine, smtp_server, sms_provider) -> str:
    lines = [
        f"emails at the server: {sorted(m['To'] for m in smtp_server.messages)}",
        f"texts at the provider: {sorted(t.phone_number for t in sms_provider.texts)}",
        f"the provider's answers: {sms_provider.responses}",
    ]
    lines += [
        f"{r.channel} {r.status} {r.reason} attempts={r.attempts} due={r.due_at:%H:%M:%S.%f} {r.last_error}"
        for r in rows(engine, "email") + rows(engine, "sms")
    ]
    return "\n".join(lines)


def test_failing_then_slow_providers_that_recover_get_every_message_once(site, smtp_server, sms_provider, amqp_url):
    referrals, worker, engine = site
    started = time.monotonic()
    smtp_server.bounce(BOUNCING)
    smtp_server.down()
    sms_provider.fail(PEOPLE, status=500)
    # One request held: a held sender holds its whole round, so each hold costs a full timeout.
    sms_provider.slow(1, SMS_TIMEOUT + 2)

    for n in range(PEOPLE):
        refer(referrals, n)

    # Every email is tried while the server is down, then it comes back refusing, then slow.
    wait_until(
        lambda: len([r for r in rows(engine, "email") if r.attempts >= 1]) == PEOPLE,
        timeout=30,
        what="every email tried while the mail server is down",
    )
    smtp_server.refuse(PEOPLE, "451 4.3.0 Try again later")
    smtp_server.slow(1, SMTP_TIMEOUT + 1)
    smtp_server.up()

    addresses = {f"p{n}@example.org" for n in range(1, PEOPLE)}
    phones = {f"+4477009002{n:02d}" for n in range(PEOPLE)}
    try:
        wait_until(
            lambda: {m["To"] for m in smtp_server.messages} == addresses and len(sms_provider.texts) >= PEOPLE,
            timeout=60,
        )
    except AssertionError:
        state = describe(engine, smtp_server, sms_provider)
        raise AssertionError(f"not every message went after recovery:\n{state}") from None
    wait_until(
        lambda: all(r.status != "pending" for r in rows(engine, "email") + rows(engine, "sms")),
        timeout=30,
        what="every delivery settled",
    )
    time.sleep(1.5)  # a retry that was still due would show within one more round

    emails = Counter(m["To"] for m in smtp_server.messages)
    texts = Counter(t.phone_number for t in sms_provider.texts)
    assert emails == dict.fromkeys(addresses, 1), emails  # exactly once each, none to the bounced address
    assert texts == dict.fromkeys(phones, 1), texts
    assert len({m["Message-ID"] for m in smtp_server.messages}) == len(addresses)

    email_rows, sms_rows = rows(engine, "email"), rows(engine, "sms")
    assert len(email_rows) == len(sms_rows) == PEOPLE
    sent_emails = [r for r in email_rows if r.status == "sent"]
    (bounced,) = [r for r in email_rows if r.status == "failed"]
    assert len(sent_emails) == PEOPLE - 1
    assert (bounced.reason, smtp_server.bounced[BOUNCING]) == ("invalid-address", 1)  # one try at RCPT, no retry
    assert "550" in bounced.last_error
    assert all(r.status == "sent" for r in sms_rows)

    # The faults were really met: every scripted failure was used, and shows in the attempt counts.
    assert smtp_server.refuse_next == 0 and smtp_server.refused == PEOPLE and smtp_server.slowed == 1
    assert sms_provider.count(500) == PEOPLE and sms_provider.abandoned == 1
    assert all(r.attempts >= 2 for r in sent_emails)  # the first try met a server that was down
    email_attempts = sum(r.attempts for r in email_rows)
    sms_attempts = sum(r.attempts for r in sms_rows)
    assert sms_attempts == PEOPLE + PEOPLE + 1  # one success each, six 500s, one timeout
    assert parking.list_parked(amqp_url, ConsumerQueues("notifications", (0.2, 1.0))) == []
    worker.assert_alive()
    print(
        f"providers failing, slow, recovering: {PEOPLE} referrals; email: down, {smtp_server.refused} x 451, "
        f"{smtp_server.slowed} sessions held {SMTP_TIMEOUT + 1:g}s, 1 address bounced 550 -> "
        f"{len(sent_emails)} emails sent once each in {email_attempts} attempts "
        f"(max {max(r.attempts for r in email_rows)}), bounce failed after {bounced.attempts} attempts "
        f"({smtp_server.bounced[BOUNCING]} at the bounce); texts: {sms_provider.count(500)} x 500, "
        f"{sms_provider.abandoned} held {SMS_TIMEOUT + 2:g}s -> {len(texts)} sent once each in {sms_attempts} "
        f"attempts; 0 parked, 0 duplicates; {time.monotonic() - started:.1f}s"
    )
