"""RabbitMQ and PostgreSQL restarted under steady ``POST /referrals`` traffic. Both tests take the
servers from every other test session first (their markers), and always bring them back."""

from __future__ import annotations

import time

import pytest

from peerlink.testing import wait_until

from .traffic import (
    Site,
    WireSpy,
    assert_exactly_once,
    broker_answers,
    pg_ctlcluster,
    postgres_answers,
    run,
    settle_and_count,
    show,
)

pytestmark = pytest.mark.parametrize("new_database_url", ["postgresql"], indirect=True)

AWAY = 4.0  # seconds each server stays down
RATE = 10  # referrals a second


@pytest.fixture
def site(amqp_url, databases, site_env, tokens, processes):
    # The processes last: they stop before their vhost and schemas are deleted.
    made = Site(processes, site_env, databases, amqp_url, tokens)
    yield made
    made.close()


@pytest.mark.restarts_broker
def test_referrals_are_taken_while_the_broker_is_away_and_all_arrive_once_after(request, site, amqp_url, smtp_server):
    spy = WireSpy(amqp_url)  # a durable queue: it keeps what arrives across the restart
    site.start()
    load = site.load(per_second=RATE).start()
    try:
        load.wait_for(20)
        run("rabbitmqctl", "stop_app")
        try:
            before = len(load.accepted)
            time.sleep(AWAY)
            while_away = len(load.accepted) - before
        finally:
            run("rabbitmqctl", "start_app")
            wait_until(broker_answers, timeout=120, what="RabbitMQ back")
        load.wait_for(len(load.accepted) + 20, timeout=30)
    finally:
        load.stop()
    count = settle_and_count(site, load, spy, smtp_server, timeout=90)
    count.extra["taken while the broker was away"] = while_away
    show(request, count.line(f"broker stopped {AWAY:.0f}s"))
    # The API never needed the broker: it went on at its pace while the broker was away.
    assert while_away >= AWAY * RATE * 0.5, (while_away, dict(load.statuses))
    assert_exactly_once(count, load)


@pytest.mark.restarts_database
def test_a_database_restart_costs_retries_not_referrals_and_everyone_reconnects(
    request, site, amqp_url, smtp_server, postgres_server
):
    """While PostgreSQL is down the API answers 503 (problem+json, with Retry-After) at once; the
    client retries with the same Idempotency-Key, so there are as many referrals as keys, never
    more. The cluster stopped and started is the one CI starts (``ls /etc/postgresql``)."""
    spy = WireSpy(amqp_url)
    site.start()
    load = site.load(per_second=RATE).start()
    try:
        load.wait_for(20)
        try:
            pg_ctlcluster("stop")
            before = sum(load.statuses.values())
            time.sleep(AWAY)
            answered_while_down = sum(load.statuses.values()) - before
        finally:
            pg_ctlcluster("start")
            wait_until(lambda: postgres_answers(postgres_server), timeout=60, what="PostgreSQL back")
        load.wait_for(len(load.accepted) + 20, timeout=30)
    finally:
        load.stop()
    count = settle_and_count(site, load, spy, smtp_server, timeout=90)
    count.extra["keys"] = len(load.keys)
    count.extra["retried POSTs"] = load.retries
    count.extra["answers"] = dict(sorted(load.statuses.items()))
    count.extra["Retry-After on the 503s"] = dict(load.retry_after)
    show(request, count.line(f"database stopped {AWAY:.0f}s"))
    assert count.referrals == len(load.keys), count
    assert_exactly_once(count, load)
    # The client was answered while the database was down (a 503, not a hang), and told to retry:
    # every 503 said when, in whole seconds (RFC 9110's delay-seconds), as the README promises.
    assert load.statuses["503"] > 0, dict(load.statuses)
    assert sum(load.retry_after.values()) == load.statuses["503"], load.retry_after
    assert all(value.isdigit() and int(value) > 0 for value in load.retry_after), load.retry_after
    assert answered_while_down >= AWAY, answered_while_down
    for process in site.running.values():
        process.assert_alive()
