"""Raw broker rates against the outbox -> relay -> consumer (inbox) pipeline, on this machine.

Run from the repository root (``make bench``). Every phase gets its own throwaway vhost and
its own PostgreSQL schema or SQLite file, removed afterwards. The output is a report read by
people: nothing here asserts on timings, and a figure under its target is printed, not failed.

1. raw py-amqp rates (the ceiling): no confirms, one confirm at a time, pipelined confirms
   through ``ConfirmingPublisher``, and consuming with manual acks;
2. each stage alone: the relay draining a pre-filled outbox, the consumer draining a full queue;
3. the whole pipeline, relay and consumer in their own processes, fed by a pre-filled outbox
   (its capacity) and by a live writer committing through ``UnitOfWork.emit``;
4. commit-to-handled latency at a steady, low rate.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import amqp
import sqlalchemy as sa
from _benchkit import throwaway_database, throwaway_vhost, write_results

from peerlink.amqp import ConfirmingPublisher, OutgoingMessage, connect
from peerlink.consumer import Consumer
from peerlink.contracts import REFERRAL_RECEIVED
from peerlink.db import create_engine
from peerlink.outbox import Producer, UnitOfWork
from peerlink.relay import Relay
from peerlink.subscriptions import Event, HandlerContext, Subscriptions
from peerlink.tables import inbox, outbox
from peerlink.tables import metadata as peerlink_metadata
from peerlink.testing import count_rows, make_envelope, sample_data, wait_until
from peerlink.topology import ConsumerQueues, quorum_arguments
from peerlink.wakeup import NOTIFY_CHANNEL

BACKENDS = ("postgresql", "sqlite")

# Sizes: each phase takes a few seconds on a 2-core machine, the whole run well under two minutes.
RAW_MESSAGES = 20_000
CONFIRM_EACH_MESSAGES = 2_000  # one round trip each: a larger count only makes the run longer
RAW_BODY = b"x" * 500
CONSUME_PREFETCH = 200  # the consumer's defaults, so the raw consume rate is its ceiling
CONSUME_ACK_EVERY = 100
RELAY_EVENTS = 20_000
CONSUMER_EVENTS = 5_000
PREFILLED_EVENTS = 10_000
WRITTEN_EVENTS = 5_000
WRITER_BATCH = 100  # events per transaction
LATENCY_RATE = 100  # events per second, one per transaction
LATENCY_SECONDS = 10

PIPELINE_TARGET = 5_000  # events/s end to end on PostgreSQL
RELAY_TARGET_RATIO = 0.5  # of the raw pipelined-confirm publish rate
LATENCY_TARGET_MS = 50  # p99

PRODUCER = Producer(site="ebbw-vale", service="referrals")
CONSUMER_NAME = "bench"

# The handler's own table, next to the inbox in the same database.
handled_metadata = sa.MetaData()
handled = sa.Table(
    "bench_handled",
    handled_metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("handled_at", sa.Double, nullable=False),  # time.time() in the handler
)


# Throwaway broker and databases --------------------------------------------------------


def _create_tables(url: str) -> None:
    engine = create_engine(url, poolclass=sa.pool.NullPool)
    peerlink_metadata.create_all(engine)
    handled_metadata.create_all(engine)
    engine.dispose()


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


# 1. Raw broker rates -------------------------------------------------------------------


def declare_quorum_queue(channel: amqp.Channel) -> str:
    name = f"raw-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(name, durable=True, auto_delete=False, arguments=quorum_arguments())
    return name


def raw_message() -> amqp.Message:
    return amqp.Message(RAW_BODY, delivery_mode=2, content_type="application/octet-stream")


def queue_depth(channel: amqp.Channel, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True)[1])


def publish_without_confirms(amqp_url: str) -> float:
    """Timed until the queue holds them all: a socket accepting a publish says nothing about the broker."""
    with contextlib.closing(connect(amqp_url, name="bench-raw")) as connection:
        channel = connection.channel()
        queue = declare_quorum_queue(channel)
        message = raw_message()
        started = time.perf_counter()
        for _ in range(RAW_MESSAGES):
            channel.basic_publish(message, exchange="", routing_key=queue)
        wait_until(lambda: queue_depth(channel, queue) >= RAW_MESSAGES, timeout=60, interval=0.01, what="the queue")
        return RAW_MESSAGES / (time.perf_counter() - started)


def publish_confirming_each(amqp_url: str) -> float:
    """py-amqp's ``basic_publish_confirm``: one broker round trip (and quorum commit) per message."""
    with contextlib.closing(connect(amqp_url, name="bench-raw")) as connection:
        channel = connection.channel()
        queue = declare_quorum_queue(channel)
        message = raw_message()
        started = time.perf_counter()
        for _ in range(CONFIRM_EACH_MESSAGES):
            channel.basic_publish_confirm(message, exchange="", routing_key=queue)
        return CONFIRM_EACH_MESSAGES / (time.perf_counter() - started)


def publish_pipelined(amqp_url: str, window: int) -> tuple[float, str]:
    """``ConfirmingPublisher`` in windows; returns the rate and the (full) queue for the consume test."""
    with contextlib.closing(connect(amqp_url, name="bench-raw")) as connection:
        publisher = ConfirmingPublisher(connection)
        queue = declare_quorum_queue(publisher.channel)
        messages = [
            OutgoingMessage(exchange="", routing_key=queue, body=RAW_BODY, message_id=str(i), type="bench")
            for i in range(window)
        ]
        started = time.perf_counter()
        for _ in range(RAW_MESSAGES // window):
            if not all(publisher.publish(messages)):
                raise RuntimeError("the broker refused a raw publish")
        return RAW_MESSAGES / (time.perf_counter() - started), queue


def consume_with_acks(amqp_url: str, queue: str) -> float:
    """basic_consume + drain_events, prefetch and one multiple ack per batch, as the consumer does."""
    with contextlib.closing(connect(amqp_url, name="bench-raw")) as connection:
        channel = connection.channel()
        channel.basic_qos(0, CONSUME_PREFETCH, False)
        tags: list[int] = []
        channel.basic_consume(queue, callback=lambda message: tags.append(message.delivery_tag), no_ack=False)
        started = time.perf_counter()
        received = 0
        while received < RAW_MESSAGES:
            connection.drain_events(timeout=10)
            if len(tags) >= CONSUME_ACK_EVERY or received + len(tags) >= RAW_MESSAGES:
                channel.basic_ack(tags[-1], multiple=True)
                received += len(tags)
                tags.clear()
        return RAW_MESSAGES / (time.perf_counter() - started)


def raw_rates() -> dict[str, float]:
    with throwaway_vhost() as amqp_url:
        results = {
            "publish_no_confirm": publish_without_confirms(amqp_url),
            "publish_confirm_each": publish_confirming_each(amqp_url),
        }
        results["publish_pipelined_100"], _ = publish_pipelined(amqp_url, 100)
        results["publish_pipelined_1000"], full_queue = publish_pipelined(amqp_url, 1000)
        results["consume_ack_prefetch"] = consume_with_acks(amqp_url, full_queue)
    return results


# Relay and consumer processes ----------------------------------------------------------


class _ReadyRelay(Relay):
    """Says when it has connected and found nothing to do, so that timings exclude start-up."""

    def __init__(self, *args: Any, ready: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.ready = ready

    def _unsent(self, exclude: list[int]) -> list[Any]:
        rows = super()._unsent(exclude)
        if not rows and not self.ready.is_set():
            self.ready.set()
        return rows


def _handle(event: Event, ctx: HandlerContext) -> None:
    """Trivial work: one row per event, in the consumer's transaction."""
    ctx.connection.execute(handled.insert().values(event_id=event.id, handled_at=time.time()))


def _handle_many(events: list[Event], conn: sa.Connection) -> None:
    """The same work for a batch handler: one multi-row insert for consecutive events."""
    conn.execute(handled.insert(), [{"event_id": e.id, "handled_at": time.time()} for e in events])


def bench_subscriptions(batch: bool = False) -> Subscriptions:
    subscriptions = Subscriptions(CONSUMER_NAME)
    if batch:
        subscriptions.on_batch(REFERRAL_RECEIVED)(_handle_many)
    else:
        subscriptions.on(REFERRAL_RECEIVED)(_handle)
    return subscriptions


def _local(stop: Any) -> threading.Event:
    """A thread event mirroring the process-shared one, which is costlier to check in a hot loop."""
    local = threading.Event()
    threading.Thread(target=lambda: (stop.wait(), local.set()), daemon=True).start()
    return local


def run_relay(database_url: str, amqp_url: str, ready: Any, stop: Any) -> None:
    relay = _ReadyRelay(create_engine(database_url), amqp_url, service=PRODUCER.service, ready=ready)
    relay.run(_local(stop))


def run_consumer(database_url: str, amqp_url: str, batch: bool, stop: Any) -> None:
    consumer = Consumer(
        create_engine(database_url),
        amqp_url,
        bench_subscriptions(batch),
        producer=Producer(site=PRODUCER.site, service=CONSUMER_NAME),
        retry_delays=(),
    )
    consumer.run(_local(stop))


@dataclass
class Workers:
    """The relay and/or the consumer, each in its own process so that they use both cores."""

    database_url: str
    amqp_url: str
    batch_handler: bool = False
    mp: Any = field(default_factory=lambda: multiprocessing.get_context("spawn"))  # no inherited sockets or pools
    processes: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop = self.mp.Event()

    def start_consumer(self) -> None:
        self._start(run_consumer, self.database_url, self.amqp_url, self.batch_handler, self.stop)
        wait_until(lambda: self.alive() and consumer_count(self.amqp_url) > 0, timeout=30, what="the consumer")

    def start_relay(self) -> None:
        ready = self.mp.Event()
        self._start(run_relay, self.database_url, self.amqp_url, ready, self.stop)
        wait_until(lambda: self.alive() and ready.is_set(), timeout=30, what="the relay")

    def _start(self, target: Callable[..., None], *args: Any) -> None:
        process = self.mp.Process(target=target, args=args, daemon=True)
        process.start()
        self.processes.append(process)

    def alive(self) -> bool:
        """True, or raises: waiting two minutes on a crashed worker would only hide the crash."""
        dead = [p for p in self.processes if not p.is_alive()]
        if dead:
            raise RuntimeError(f"a worker process exited with code {dead[0].exitcode}")
        return True

    def close(self) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
                process.join(5)


@contextlib.contextmanager
def workers(
    database_url: str, amqp_url: str, *, relay: bool = True, consumer: bool = True, batch_handler: bool = False
) -> Iterator[Workers]:
    declare_consumer_queues(amqp_url)  # before anything is published, so nothing goes to peerlink.unrouted
    running = Workers(database_url, amqp_url, batch_handler)
    try:
        if consumer:
            running.start_consumer()
        if relay:
            running.start_relay()
        yield running
    finally:
        running.close()


def declare_consumer_queues(amqp_url: str) -> None:
    with contextlib.closing(connect(amqp_url, name="bench-setup")) as connection:
        ConsumerQueues(CONSUMER_NAME, ()).declare(connection.channel(), bench_subscriptions().bindings)


def consumer_count(amqp_url: str) -> int:
    with contextlib.closing(connect(amqp_url, name="bench-probe")) as connection:
        return int(connection.channel().queue_declare(f"{CONSUMER_NAME}.inbox", passive=True)[2])


# Events, as the outbox holds them and as they are handled ----------------------------------


def outbox_rows(count: int) -> list[dict[str, Any]]:
    """Rows as ``emit`` writes them (~640-byte bodies), built without the database so filling is quick."""
    data = sample_data(REFERRAL_RECEIVED)
    rows = []
    for _ in range(count):
        envelope = make_envelope(REFERRAL_RECEIVED, data, site=PRODUCER.site, service=PRODUCER.service)
        rows.append(
            {
                "event_id": envelope.id,
                "event_type": envelope.type,
                "exchange": REFERRAL_RECEIVED.exchange,
                "routing_key": REFERRAL_RECEIVED.routing_key(PRODUCER.site),
                "subject": envelope.subject,
                "sequence": envelope.sequence,
                "correlation_id": envelope.correlationid,
                "body": envelope.to_json().decode(),
                "created_at": envelope.time,
            }
        )
    return rows


def fill_outbox(engine: sa.Engine, rows: list[dict[str, Any]]) -> float:
    """All rows in one transaction, whose NOTIFY wakes the relay as any commit would; returns the commit time."""
    with engine.begin() as conn:
        conn.execute(outbox.insert(), rows)
        if engine.dialect.name == "postgresql":
            # Statistics, as autovacuum keeps them on a running system (the migration tunes it for
            # the outbox): a brand-new table without any gets a sort plan instead of its index.
            conn.execute(sa.text("ANALYZE peerlink_outbox"))
            conn.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return time.time()


def publish_rows(amqp_url: str, rows: list[dict[str, Any]]) -> None:
    """What the relay would publish, straight to the broker, for the consumer-alone test."""
    with contextlib.closing(connect(amqp_url, name="bench-publisher")) as connection:
        publisher = ConfirmingPublisher(connection)
        for start in range(0, len(rows), 1000):
            messages = [
                OutgoingMessage(
                    exchange=row["exchange"],
                    routing_key=row["routing_key"],
                    body=row["body"].encode(),
                    message_id=row["event_id"],
                    type=row["event_type"],
                )
                for row in rows[start : start + 1000]
            ]
            if not all(publisher.publish(messages)):
                raise RuntimeError("the broker refused an event")


def write_events(engine: sa.Engine, count: int, per_transaction: int) -> None:
    """Through the real write path (``UnitOfWork.emit``): sequence upsert, outbox row, NOTIFY."""
    data = sample_data(REFERRAL_RECEIVED)
    for _ in range(count // per_transaction):
        with UnitOfWork(engine, PRODUCER) as uow:
            for _ in range(per_transaction):
                uow.emit(REFERRAL_RECEIVED, subject=str(uuid.uuid4()), data=data)
            uow.commit()


def wait_for_handled(engine: sa.Engine, count: int, running: Workers) -> float:
    """The handler time of the last event, once all ``count`` are handled."""
    wait_until(
        lambda: running.alive() and count_rows(engine, handled) >= count,
        timeout=120,
        interval=0.05,
        what=f"{count} events handled",
    )
    with engine.connect() as conn:
        return float(conn.execute(sa.select(sa.func.max(handled.c.handled_at))).scalar_one())


def check_inbox(engine: sa.Engine, count: int) -> None:
    """Correctness, not speed: every event handled once and recorded in the inbox."""
    rows = count_rows(engine, inbox)
    if rows != count or count_rows(engine, handled) != count:
        raise RuntimeError(f"{count} events sent, {rows} in the inbox")


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


# 2. Each stage alone -------------------------------------------------------------------


def relay_alone(backend: str, tmp: Path) -> float:
    """Events/s from the commit of a full outbox to the last row marked published."""
    rows = outbox_rows(RELAY_EVENTS)
    with (
        throwaway_vhost() as amqp_url,
        throwaway_database(backend, tmp, _create_tables) as url,
        engine_for(url) as engine,
    ):
        with workers(url, amqp_url, consumer=False) as running:
            committed = fill_outbox(engine, rows)
            wait_until(
                lambda: running.alive() and count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 0,
                timeout=120,
                interval=0.05,
                what="the relay to publish every row",
            )
        with engine.connect() as conn:
            last = conn.execute(sa.select(sa.func.max(outbox.c.published_at))).scalar_one()
    return RELAY_EVENTS / (_epoch(last) - committed)


def consumer_alone(backend: str, tmp: Path, batch_handler: bool = False) -> float:
    """Events/s from publishing to an already-consuming consumer to the last event handled.

    Publishing runs at the raw rate, several times faster than handling, so the consumer
    soon has a full queue in front of it; its start-up is not counted.
    """
    rows = outbox_rows(CONSUMER_EVENTS)
    with (
        throwaway_vhost() as amqp_url,
        throwaway_database(backend, tmp, _create_tables) as url,
        engine_for(url) as engine,
    ):
        with workers(url, amqp_url, relay=False, batch_handler=batch_handler) as running:
            started = time.time()
            publish_rows(amqp_url, rows)
            last_handled = wait_for_handled(engine, CONSUMER_EVENTS, running)
        check_inbox(engine, CONSUMER_EVENTS)
    return CONSUMER_EVENTS / (last_handled - started)


# 3. The whole pipeline -----------------------------------------------------------------


def pipeline_prefilled(backend: str, tmp: Path, batch_handler: bool = False) -> float:
    """The pipeline's own capacity: one commit of many events, to the last one handled."""
    rows = outbox_rows(PREFILLED_EVENTS)
    with (
        throwaway_vhost() as amqp_url,
        throwaway_database(backend, tmp, _create_tables) as url,
        engine_for(url) as engine,
    ):
        with workers(url, amqp_url, batch_handler=batch_handler) as running:
            committed = fill_outbox(engine, rows)
            last_handled = wait_for_handled(engine, PREFILLED_EVENTS, running)
        check_inbox(engine, PREFILLED_EVENTS)
    return PREFILLED_EVENTS / (last_handled - committed)


def pipeline_with_writer(backend: str, tmp: Path) -> dict[str, float]:
    """A writer committing WRITER_BATCH events per transaction while the relay and consumer run."""
    with (
        throwaway_vhost() as amqp_url,
        throwaway_database(backend, tmp, _create_tables) as url,
        engine_for(url) as engine,
    ):
        with workers(url, amqp_url) as running:
            started = time.time()  # before the first commit: the writer's own time is part of the pipeline
            write_events(engine, WRITTEN_EVENTS, WRITER_BATCH)
            written = time.time()
            last_handled = wait_for_handled(engine, WRITTEN_EVENTS, running)
        check_inbox(engine, WRITTEN_EVENTS)
    return {
        "end_to_end": WRITTEN_EVENTS / (last_handled - started),
        "writer": WRITTEN_EVENTS / (written - started),
    }


# 4. Latency at a steady rate -----------------------------------------------------------


def write_steadily(engine: sa.Engine) -> dict[str, float]:
    """One event per transaction at LATENCY_RATE; returns each event's commit time (after COMMIT returned)."""
    data = sample_data(REFERRAL_RECEIVED)
    committed: dict[str, float] = {}
    started = time.monotonic()
    for i in range(LATENCY_RATE * LATENCY_SECONDS):
        time.sleep(max(0.0, started + i / LATENCY_RATE - time.monotonic()))
        with UnitOfWork(engine, PRODUCER) as uow:
            envelope = uow.emit(REFERRAL_RECEIVED, subject=str(uuid.uuid4()), data=data)
            uow.commit()
        committed[envelope.id] = time.time()
    return committed


def latency(tmp: Path) -> dict[str, float]:
    """Commit to handled (in the handler, before the consumer commits), in milliseconds, on PostgreSQL."""
    with (
        throwaway_vhost() as amqp_url,
        throwaway_database("postgresql", tmp, _create_tables) as url,
        engine_for(url) as engine,
    ):
        with workers(url, amqp_url) as running:
            committed = write_steadily(engine)
            wait_for_handled(engine, len(committed), running)
        with engine.connect() as conn:
            handled_at = dict(conn.execute(sa.select(handled.c.event_id, handled.c.handled_at)).all())
    millis = sorted((handled_at[event_id] - at) * 1000 for event_id, at in committed.items())
    percentiles = statistics.quantiles(millis, n=100)
    return {"p50_ms": percentiles[49], "p99_ms": percentiles[98], "max_ms": millis[-1]}


# Report --------------------------------------------------------------------------------


def phase(title: str, run: Callable[[], Any]) -> Any:
    print(f"... {title}", flush=True)
    started = time.perf_counter()
    result = run()
    figures = result if isinstance(result, dict) else {"events/s": result}
    brief = ", ".join(f"{key} {value:,.1f}" for key, value in figures.items())
    print(f"    {brief}  ({time.perf_counter() - started:.1f}s)", flush=True)
    return result


def run_all(tmp: Path) -> dict[str, Any]:
    def per_backend(title: str, measure: Callable[[str, Path], Any]) -> dict[str, Any]:
        return {backend: phase(f"{title}, {backend}", lambda b=backend: measure(b, tmp)) for backend in BACKENDS}

    return {
        "raw": phase("raw py-amqp, 500-byte persistent messages, quorum queue", raw_rates),
        "relay": per_backend(f"relay alone, {RELAY_EVENTS:,} pre-filled events", relay_alone),
        "consumer": per_backend(f"consumer alone, {CONSUMER_EVENTS:,} queued events", consumer_alone),
        "consumer_batch": per_backend(
            f"consumer alone, batch handler, {CONSUMER_EVENTS:,} queued events",
            lambda b, t: consumer_alone(b, t, batch_handler=True),
        ),
        "prefilled": per_backend(f"outbox -> relay -> consumer, {PREFILLED_EVENTS:,} pre-filled", pipeline_prefilled),
        "prefilled_batch": per_backend(
            f"outbox -> relay -> consumer (batch handler), {PREFILLED_EVENTS:,} pre-filled",
            lambda b, t: pipeline_prefilled(b, t, batch_handler=True),
        ),
        "written": per_backend(
            f"writer -> outbox -> relay -> consumer, {WRITTEN_EVENTS:,} events, {WRITER_BATCH} per transaction",
            pipeline_with_writer,
        ),
        "latency": phase(f"latency, {LATENCY_RATE} events/s for {LATENCY_SECONDS}s, postgresql", lambda: latency(tmp)),
    }


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure, with its ratio to the best raw pipelined-confirm publish rate and its target."""
    raw = results["raw"]
    reference = max(raw["publish_pipelined_100"], raw["publish_pipelined_1000"])
    rows: list[dict[str, Any]] = []

    def add(measure: str, value: float, target: str = "", met: bool | None = None, unit: str = "events/s") -> None:
        ratio = value / reference if unit == "events/s" else None
        rows.append({"measure": measure, "value": value, "unit": unit, "ratio": ratio, "target": target, "met": met})

    def pipeline_target(backend: str, value: float) -> tuple[str, bool | None]:
        if backend != "postgresql":
            return "", None
        return f">= {PIPELINE_TARGET:,}/s", value >= PIPELINE_TARGET

    add("raw publish, no confirms", raw["publish_no_confirm"])
    add("raw publish, confirm each", raw["publish_confirm_each"])
    add("raw publish, pipelined confirms (100)", raw["publish_pipelined_100"])
    add("raw publish, pipelined confirms (1000)", raw["publish_pipelined_1000"])
    add("raw consume, manual ack, prefetch", raw["consume_ack_prefetch"])
    for backend in BACKENDS:
        value = results["relay"][backend]
        add(f"relay alone, {backend}", value, f"x raw >= {RELAY_TARGET_RATIO}", value / reference >= RELAY_TARGET_RATIO)
    for backend in BACKENDS:
        add(f"consumer alone, {backend}", results["consumer"][backend])
        add(f"consumer alone, batch handler, {backend}", results["consumer_batch"][backend])
    for backend in BACKENDS:
        value = results["prefilled"][backend]
        add(f"pipeline, pre-filled outbox, {backend}", value, *pipeline_target(backend, value))
        value = results["prefilled_batch"][backend]
        add(f"pipeline, pre-filled, batch handler, {backend}", value, *pipeline_target(backend, value))
    for backend in BACKENDS:
        value = results["written"][backend]["end_to_end"]
        add(f"pipeline, live writer, {backend}", value, *pipeline_target(backend, value))
        add(f"  its writer ({WRITER_BATCH} events/tx), {backend}", results["written"][backend]["writer"])
    for key in ("p50", "p99", "max"):
        value = results["latency"][f"{key}_ms"]
        target, met = (f"< {LATENCY_TARGET_MS} ms", value < LATENCY_TARGET_MS) if key == "p99" else ("", None)
        add(f"latency {key} at {LATENCY_RATE}/s, postgresql", value, target, met, unit="ms")
    return rows


def print_summary(rows: list[dict[str, Any]]) -> None:
    table = [("measure", "value", "x raw", "target", "")]
    for row in rows:
        value = f"{row['value']:,.0f}/s" if row["unit"] == "events/s" else f"{row['value']:.1f} ms"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        verdict = {True: "met", False: "MISSED", None: ""}[row["met"]]
        table.append((row["measure"], value, ratio, row["target"], verdict))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    print(f"\nSummary ({os.cpu_count()} cores; x raw = ratio to the best raw pipelined-confirm publish rate)")
    for index, line in enumerate(table):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


def main() -> None:
    started_at = datetime.now(UTC).isoformat()
    with tempfile.TemporaryDirectory(prefix="peerlink-bench-") as directory:
        results = run_all(Path(directory))
    rows = summary(results)
    print_summary(rows)
    report = {"started_at": started_at, "cores": os.cpu_count(), "summary": rows, "results": results}
    path = write_results("pipeline", report)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
