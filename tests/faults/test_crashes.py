"""Processes killed with SIGKILL, again and again, under steady ``POST /referrals`` traffic: the
relay, notifications' consumer, notifications' email sender. Every referral taken must have its
event on the wire and its one acknowledgement email; a copy on the wire is allowed (at least
once), a second effect is not.
"""

from __future__ import annotations

import collections
import random
import time
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from notifications.handlers import subscriptions as notifications_subscriptions
from peerlink.amqp import connect
from peerlink.tables import inbox
from peerlink.testing import wait_for_consumer, wait_until
from peerlink.topology import site_bindings

from .traffic import Site, WireSpy, assert_exactly_once, kill_and_restart, scalar, settle_and_count, show

pytestmark = pytest.mark.parametrize("new_database_url", ["postgresql"], indirect=True)

KILLS = 5
CONSUMER_KILLS = 4
SENDER_KILLS = 3


@pytest.fixture
def site(amqp_url, databases, site_env, tokens, processes):
    # The processes last: they stop before their vhost and schemas are deleted.
    made = Site(processes, site_env, databases, amqp_url, tokens)
    yield made
    made.close()


def test_a_relay_killed_again_and_again_under_load_loses_nothing_and_sends_no_email_twice(
    request, site, amqp_url, smtp_server
):
    spy = WireSpy(amqp_url)
    site.start()
    load = site.load(per_second=8).start()
    rng = random.Random(1)
    try:
        load.wait_for(10)
        worker = site.running["referrals-work"]
        for _ in range(KILLS):
            # Kill a relay that is publishing: it has put something on the wire since it started.
            seen = len(spy.drain())
            wait_until(lambda s=seen: len(spy.drain()) > s, timeout=30, what="the relay publishing again")
            time.sleep(rng.uniform(0.1, 0.6))
            worker.assert_alive()
            worker = kill_and_restart(worker, site.start_referrals_work)
        time.sleep(1.0)
    finally:
        load.stop()
    count = settle_and_count(site, load, spy, smtp_server)
    show(request, count.line(f"relay killed {KILLS}x"))
    assert_exactly_once(count, load)


def inbox_handled(site: Site) -> int:
    return scalar(site.engines["notifications"], sa.select(sa.func.count()).select_from(inbox))


@dataclass
class Backlog:
    """Where the events bound for notifications' inbox queue are, counted from outside:
    ``published`` (distinct events routed to the queue, as a spy bound exactly like it saw them),
    ``ready`` (waiting in the queue, not delivered: the broker's own count), ``handled`` (committed
    with their inbox record). Taken in that order, ``published - ready - handled`` is a lower
    bound of the events delivered to the consumer and neither handled nor acked (it acks a
    batch only after committing it): the batch in its hands."""

    published: int
    ready: int
    consumers: int
    handled: int

    @property
    def in_hand(self) -> int:
        return self.published - self.ready - self.handled


def backlog(site: Site, inbox_spy: WireSpy, amqp_url: str) -> Backlog:
    published = len(set(inbox_spy.drain()))
    connection = connect(amqp_url, name="fault-probe")
    try:
        _, ready, consumers = connection.channel().queue_declare("notifications.inbox", passive=True)
    finally:
        connection.release()
    return Backlog(published, int(ready), int(consumers), inbox_handled(site))


def a_batch_in_hand(site: Site, inbox_spy: WireSpy, amqp_url: str, *, timeout: float) -> Backlog:
    """Probe until the consumer holds deliveries it has neither handled nor acked, and return that
    probe; after ``timeout``, the last probe whatever it says (the test counts the kill as 0)."""
    deadline = time.monotonic() + timeout
    while True:
        now = backlog(site, inbox_spy, amqp_url)
        if (now.consumers and now.in_hand > 0) or time.monotonic() > deadline:
            return now
        time.sleep(0.01)


def test_a_consumer_killed_mid_batch_again_and_again_under_load_has_every_effect_once(
    request, site, amqp_url, smtp_server
):
    """Notifications' consumer (its effect, a delivery row, commits with its inbox record) runs
    alone in the process we kill; its email sender runs in another, undisturbed. Each kill waits
    (20 s at most) for a moment the counts show the consumer holding deliveries it has neither
    committed nor acked (``Backlog.in_hand``). A prefetch of 20 and a restart 2 s after each kill
    make the backlog that gathers meanwhile several batches, so that the next kill finds one in
    hand at once. Counted again after each kill, what it held is shown neither handled nor acked:
    the broker gives it to the next consumer, and the test fails unless at least one kill landed
    so (one run: [1, 20, 20, 20] held at the four kills)."""
    spy = WireSpy(amqp_url)
    inbox_spy = WireSpy(amqp_url, site_bindings(notifications_subscriptions.bindings))  # bound as the inbox is
    site.start(notifications=(("consumer:notifications",), ("relay", "dispatcher:email")), PEERLINK_PREFETCH="20")
    consumer = site.running["notifications-0"]
    load = site.load(per_second=8).start()
    in_hand = []  # at each kill: events delivered to the consumer and neither handled nor acked
    try:
        load.wait_for(10)
        for _ in range(CONSUMER_KILLS):
            caught = a_batch_in_hand(site, inbox_spy, amqp_url, timeout=20)
            consumer.assert_alive()
            consumer.kill()
            time.sleep(0.2)  # a COMMIT already sent completes: what the consumer handled is final
            in_hand.append(caught.published - caught.ready - inbox_handled(site))
            time.sleep(1.8)  # a supervisor's restart delay: a backlog gathers meanwhile
            consumer = site.start_notifications(("consumer:notifications",))
        wait_for_consumer(amqp_url, "notifications.inbox", timeout=30)
        time.sleep(1.0)
    finally:
        load.stop()
    count = settle_and_count(site, load, spy, smtp_server)
    with site.engines["notifications"].connect() as conn:
        deliveries = dict(
            conn.execute(sa.text("SELECT channel || ':' || kind, count(*) FROM deliveries GROUP BY 1")).all()
        )
    count.extra["delivery rows"] = deliveries
    count.extra["events in the killed consumer's hands (delivered, unacked) at each kill"] = in_hand
    show(request, count.line(f"notifications consumer killed {CONSUMER_KILLS}x mid-batch"))
    # The kills did land mid-batch: at least one consumer died holding deliveries it had neither
    # handled nor acked (each one it held goes back to the queue and to the next consumer).
    assert max(in_hand) > 0, in_hand
    assert_exactly_once(count, load)
    # One delivery of each kind on each channel per referral: none made twice by a redelivery.
    assert set(deliveries.values()) == {len(load.accepted)}, deliveries


def sent_but_unrecorded(site: Site, smtp_server) -> set[str]:
    """Emails the SMTP server accepted whose delivery the killed sender never recorded as sent:
    its claim still holds them, and when the claim runs out they are sent again."""
    at_sink = {m["Message-ID"] for m in list(smtp_server.messages)}
    with site.engines["notifications"].connect() as conn:
        claimed = conn.execute(
            sa.text("SELECT id FROM deliveries WHERE status = 'pending' AND claimed_until > now()")
        ).scalars()
        return {f"<{delivery}@ebbw-vale.peerlink>" for delivery in claimed} & at_sink


def expire_claims(site: Site) -> int:
    """What ten minutes would do: the dead sender's claims run out (CLAIM_FOR in notifications.dispatcher)."""
    with site.engines["notifications"].begin() as conn:
        return conn.execute(
            sa.text(
                "UPDATE deliveries SET claimed_until = now() - interval '1 second' "
                "WHERE status = 'pending' AND claimed_until > now()"
            )
        ).rowcount


def test_an_email_sender_killed_while_sending_loses_nothing_and_resends_only_what_it_had_not_recorded(
    request, site, amqp_url, smtp_server
):
    """SMTP has no idempotency key: a sender killed after the server accepted an email and before
    it committed ``sent`` cannot know it was sent, and sends it again (same Message-ID) when its
    claim runs out. This test measures that window instead of hiding it: every duplicate must be
    one of the emails that were at the server but unrecorded at the moment of a kill."""
    spy = WireSpy(amqp_url)
    site.start(notifications=(("consumer:notifications", "relay"), ("dispatcher:email",)))
    sender = site.running["notifications-1"]
    load = site.load(per_second=8).start()
    rng = random.Random(2)
    kills = SENDER_KILLS
    in_the_window: collections.Counter[str] = collections.Counter()  # Message-ID -> kills that caught it
    claims_expired = 0
    try:
        load.wait_for(10)
        for _ in range(kills):
            sent = len(smtp_server.messages)
            wait_until(lambda s=sent: len(smtp_server.messages) > s, timeout=30, what="the sender sending again")
            time.sleep(rng.uniform(0.0, 0.3))
            sender.assert_alive()
            sender.kill()
            in_the_window.update(sent_but_unrecorded(site, smtp_server))
            claims_expired += expire_claims(site)
            sender = site.start_notifications(("dispatcher:email",), name="notifications-1")
        time.sleep(1.0)
    finally:
        load.stop()
    count = settle_and_count(site, load, spy, smtp_server)
    message_ids = [m["Message-ID"] for m in smtp_server.messages]
    copies = collections.Counter(message_ids)
    twice = {mid for mid, n in copies.items() if n > 1}
    count.extra["claims cut short"] = claims_expired
    count.extra["sent but unrecorded when killed"] = sum(in_the_window.values())
    show(request, count.line(f"email sender killed {kills}x"))
    assert count.lost == 0, count
    assert count.referrals == count.committed == len(load.accepted), count
    # The only emails sent again are those the window explains (once per kill that caught
    # them: a resent email can be caught by the next kill too), each with its one Message-ID.
    assert twice <= set(in_the_window), (twice, in_the_window)
    for message_id in twice:
        assert copies[message_id] - 1 <= in_the_window[message_id], (message_id, copies, in_the_window)
