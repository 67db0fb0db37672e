"""The relay and the consumer survive a broker restart and lose nothing."""

import subprocess
import threading
import time

import pytest
import sqlalchemy as sa

from peerlink.consumer import Consumer
from peerlink.contracts import REFERRAL_RECEIVED
from peerlink.outbox import UnitOfWork
from peerlink.relay import Relay
from peerlink.subscriptions import Subscriptions
from peerlink.tables import outbox
from peerlink.testing import count_rows, running, sample_data, wait_for_consumer, wait_until


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def broker_answers() -> bool:
    return subprocess.run(["rabbitmqctl", "await_startup"], capture_output=True, timeout=120).returncode == 0


@pytest.mark.restarts_broker
def test_n_events_published_around_a_broker_restart_have_n_effects(postgres_engine, amqp_url, producer, effects):
    engine = postgres_engine
    subscriptions = Subscriptions("survivor")

    @subscriptions.on(REFERRAL_RECEIVED)
    def on_received(event, tx):
        tx.connection.execute(effects.insert().values(event_id=event.id))

    total = 300
    written: list[str] = []

    def write_steadily() -> None:
        for _ in range(total):
            with UnitOfWork(engine, producer) as uow:
                written.append(uow.emit(REFERRAL_RECEIVED, subject="s", data=sample_data(REFERRAL_RECEIVED)).id)
                uow.commit()
            time.sleep(0.02)

    relay = Relay(engine, amqp_url, service="referrals")
    consumer = Consumer(engine, amqp_url, subscriptions, producer=producer, retry_delays=(0.2, 0.4))
    with running(relay, consumer):
        wait_for_consumer(amqp_url, "survivor.inbox")
        writer = threading.Thread(target=write_steadily)
        writer.start()
        wait_until(lambda: count_rows(engine, effects) >= 50, what="traffic flowing before the restart")
        rabbitmqctl("stop_app")
        try:
            time.sleep(2)  # events keep being committed while the broker is away
            assert count_rows(engine, outbox, outbox.c.published_at.is_(None)) > 0
        finally:
            rabbitmqctl("start_app")
            wait_until(broker_answers, timeout=120, what="RabbitMQ back")
        writer.join()
        wait_until(lambda: count_rows(engine, effects) >= total, timeout=90, what=f"{total} effects")
        wait_until(lambda: count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 0, what="all marked sent")
    with engine.connect() as conn:
        handled = [row.event_id for row in conn.execute(sa.select(effects.c.event_id))]
    assert len(written) == total
    assert sorted(handled) == sorted(written)  # every one, none twice


def test_idle_connections_answer_heartbeats_and_stay_up(sqlite_engine, amqp_url, producer, effects, caplog):
    """Idle for several heartbeat intervals, neither the relay nor the consumer loses its connection."""
    engine = sqlite_engine
    subscriptions = Subscriptions("idler")

    @subscriptions.on(REFERRAL_RECEIVED)
    def on_received(event, tx):
        tx.connection.execute(effects.insert().values(event_id=event.id))

    heartbeat = 2  # seconds; the broker gives up after two missed ones
    relay = Relay(engine, amqp_url, service="referrals", heartbeat=heartbeat, idle_poll=30)
    consumer = Consumer(engine, amqp_url, subscriptions, producer=producer, retry_delays=(0.2,), heartbeat=heartbeat)
    with caplog.at_level("WARNING"), running(relay, consumer):
        wait_for_consumer(amqp_url, "idler.inbox")
        time.sleep(heartbeat * 4)  # idle on purpose: this is the condition under test
        with UnitOfWork(engine, producer) as uow:
            uow.emit(REFERRAL_RECEIVED, subject="late", data=sample_data(REFERRAL_RECEIVED))
            uow.commit()
        wait_until(lambda: count_rows(engine, effects) == 1, what="the event handled after the idle spell")
    reconnects = [(r.name, getattr(r, "error", "")) for r in caplog.records if "reconnecting" in r.getMessage()]
    assert reconnects == []
