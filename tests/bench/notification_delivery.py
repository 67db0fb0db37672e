"""Notifications: messages per second from an event on the broker to its acceptance by an SMTP
server, and the latency of each, against raw SMTP sends to the same server in the same run.

Run from the repository root (``make bench``). The worker is the real ``peerlink-notifications
work`` in its own process (consumer, relay, a sender per channel, scheduler) over a throwaway
vhost and a throwaway PostgreSQL schema or SQLite file; the SMTP server is aiosmtpd in this
process, stamping the moment it accepts each message. Nothing here asserts on timings.

1. baseline: smtplib sending the same size of message to the same server, over one kept
   connection (the ceiling) and with a connection per message;
2. a burst: N ``referral.received`` events published at once (each owes one acknowledgement by
   email; texts are not set up, so each text delivery is skipped with its reason): the rate from
   the first publish to the last acceptance, and each message's latency;
3. a steady rate well under capacity: latency from publish to acceptance, p50 / p99 / max.

Each of 2 and 3 is also checked for correctness, timings aside: exactly one email accepted for
each event, none to an address twice, and every email delivery recorded as sent. The script exits
non-zero (after writing what it measured) if any check fails.
"""

from __future__ import annotations

# This script is named after its service: keep its own folder off the import path, so that
# ``notifications`` below is the service's package, not this file.
import contextlib
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _benchkit import throwaway_database, throwaway_vhost, write_results

from notifications import store
from notifications.app import DEFINITION
from notifications.domain.recipients import Recipient
from peerlink.amqp import ConfirmingPublisher, OutgoingMessage, connect
from peerlink.contracts import REFERRAL_RECEIVED
from peerlink.db import create_engine, write_transaction
from peerlink.testing import free_port, make_envelope, sample_data, wait_until
from peerlink.testing.waiting import queue_consumers
from peerlink.topology import declare_exchanges

BACKENDS = ("postgresql", "sqlite")

BASELINE_MESSAGES = 1_000
BURST_MESSAGES = 2_000
PUBLISH_WINDOW = 200
STEADY_RATE = 40  # messages a second
STEADY_SECONDS = 10
SITE = "ebbw-vale"


# The SMTP server that stamps each acceptance ---------------------------------------------------


class StampingServer:
    """aiosmtpd on loopback; ``accepted[rcpt] = perf_counter()`` when it first says 250 to a
    message to ``rcpt``, and ``copies[rcpt]`` how many it took for ``rcpt`` in all."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.accepted: dict[str, float] = {}
        self.copies: Counter[str] = Counter()
        self.count = 0
        self._lock = threading.Lock()
        server = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
                now = time.perf_counter()
                with server._lock:
                    for rcpt in envelope.rcpt_tos:
                        server.accepted.setdefault(rcpt, now)
                        server.copies[rcpt] += 1
                    server.count += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def reset(self) -> None:
        with self._lock:
            self.accepted.clear()
            self.copies.clear()
            self.count = 0

    def stop(self) -> None:
        self.controller.stop()


# Throwaway broker and databases ------------------------------------------------------------


@contextlib.contextmanager
def worker(database_url: str, amqp_url: str, smtp_url: str, log: Path) -> Iterator[None]:
    env = {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "PEERLINK_SITE": SITE,
        "PEERLINK_DATABASE_URL": database_url,
        "PEERLINK_AMQP_URL": amqp_url,
        "PEERLINK_SMTP_URL": smtp_url,
        "PEERLINK_LOG_LEVEL": "WARNING",
    }
    with open(log, "ab") as output:
        process = subprocess.Popen(["peerlink-notifications", "work"], env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: queue_consumers(amqp_url, "notifications.inbox") > 0, timeout=60, what="the worker")
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


# Messages ---------------------------------------------------------------------------------


def address(index: int) -> str:
    return f"person-{index}@example.org"


def recipients(database_url: str, count: int, offset: int) -> list[str]:
    """Contact details for ``count`` people (half prefer Welsh, half English), as contact.recorded leaves them."""
    engine = create_engine(database_url)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    now = datetime.now(UTC)
    try:
        with write_transaction(engine) as conn:
            for n, person_id in enumerate(ids):
                language = "cy" if n % 2 else "en"
                store.upsert_recipient(
                    conn,
                    Recipient(
                        person_id, "person", f"Person{n}", address(offset + n), None, language, ("email",), False
                    ),
                    now,
                )
    finally:
        engine.dispose()
    return ids


def events(person_ids: list[str]) -> list[OutgoingMessage]:
    found = []
    for person_id in person_ids:
        envelope = make_envelope(REFERRAL_RECEIVED, sample_data(REFERRAL_RECEIVED, person_id=person_id), site=SITE)
        found.append(
            OutgoingMessage(
                exchange=REFERRAL_RECEIVED.exchange,
                routing_key=REFERRAL_RECEIVED.routing_key(SITE),
                body=envelope.to_json(),
                message_id=envelope.id,
                type=envelope.type,
            )
        )
    return found


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50_ms": cut[49] * 1000, "p99_ms": cut[98] * 1000, "max_ms": ordered[-1] * 1000}


# 1. Baseline -------------------------------------------------------------------------------


def sample_email(index: int) -> EmailMessage:
    """About the size and shape of an acknowledgement: bilingual plain text, a Message-ID."""
    message = EmailMessage()
    message["From"] = "Peerlink ebbw-vale <no-reply@ebbw-vale.peerlink.invalid>"
    message["To"] = address(index)
    message["Subject"] = "Rydym wedi derbyn eich atgyfeiriad / We have received your referral"
    message["Message-ID"] = f"<{uuid.uuid4()}@ebbw-vale.peerlink>"
    message.set_content(("Helo, diolch. Rydym wedi derbyn eich atgyfeiriad. " * 8 + "\n") * 2)
    return message


def baseline(server: StampingServer) -> dict[str, float]:
    server.reset()
    host, port = "127.0.0.1", server.controller.port
    messages = [sample_email(n) for n in range(BASELINE_MESSAGES)]
    latencies = []
    started = time.perf_counter()
    with smtplib.SMTP(host, port) as smtp:
        for message in messages:
            sent = time.perf_counter()
            smtp.send_message(message)
            latencies.append(time.perf_counter() - sent)
    kept = BASELINE_MESSAGES / (time.perf_counter() - started)
    fresh_count = BASELINE_MESSAGES // 4
    started = time.perf_counter()
    for message in messages[:fresh_count]:
        with smtplib.SMTP(host, port) as smtp:
            smtp.send_message(message)
    fresh = fresh_count / (time.perf_counter() - started)
    return {"kept_connection_per_s": kept, "connection_each_per_s": fresh, **percentiles(latencies)}


# 2 and 3. Event to SMTP acceptance -------------------------------------------------------------


def publish_all(amqp_url: str, outgoing: list[OutgoingMessage], *, rate: float | None) -> dict[str, float]:
    """Publish (with confirms) in windows, or one by one at ``rate`` a second; when each went, by address."""
    published: dict[str, float] = {}
    with contextlib.closing(connect(amqp_url, name="bench-publisher")) as connection:
        publisher = ConfirmingPublisher(connection)
        declare_exchanges(publisher.channel)
        started = time.perf_counter()
        window = 1 if rate else PUBLISH_WINDOW
        for first in range(0, len(outgoing), window):
            if rate:
                time.sleep(max(0.0, started + first / rate - time.perf_counter()))
            now = time.perf_counter()
            for n in range(first, min(first + window, len(outgoing))):
                published[address(n)] = now
            if not all(publisher.publish(outgoing[first : first + window])):
                raise RuntimeError("the broker refused an event")
    return published


# Correctness failures of every phase, reported (and the exit status set) once all have run.
PROBLEMS: list[str] = []


def email_statuses(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(store.deliveries.c.status, sa.func.count())
            .where(store.deliveries.c.channel == "email")
            .group_by(store.deliveries.c.status)
        ).all()
    return Counter({status: int(n) for status, n in rows})


def check_once_each(phase: str, server: StampingServer, count: int, statuses: Counter[str]) -> None:
    """Exactly ``count`` emails, one to each address, and each delivery recorded as sent."""
    expected = {address(n) for n in range(count)}
    twice = sorted(rcpt for rcpt, n in server.copies.items() if n > 1)
    problems = []
    if server.count != count:
        problems.append(f"{server.count} emails accepted, not {count}")
    if twice:
        problems.append(f"{len(twice)} addresses got more than one email (e.g. {twice[:3]})")
    if set(server.copies) != expected:
        problems.append(
            f"{len(expected - set(server.copies))} addresses got none, {len(set(server.copies) - expected)} unexpected"
        )
    if statuses != Counter({"sent": count}):
        problems.append(f"email deliveries recorded {dict(statuses)}, not {count} sent")
    PROBLEMS.extend(f"{phase}: {problem}" for problem in problems)
    if problems:
        print(f"    INCORRECT: {'; '.join(problems)}", flush=True)


def event_to_smtp(backend: str, tmp: Path, server: StampingServer, count: int, rate: float | None) -> dict[str, float]:
    server.reset()
    with throwaway_vhost() as amqp_url, throwaway_database(backend, tmp, DEFINITION.migrations.upgrade) as database_url:
        outgoing = events(recipients(database_url, count, 0))
        with worker(database_url, amqp_url, server.url, tmp / f"worker-{backend}-{rate}.log"):
            published = publish_all(amqp_url, outgoing, rate=rate)
            wait_until(lambda: server.count >= count, timeout=600, interval=0.05, what="every email")
            # Every delivery settled, then a moment more: a second copy would come by now.
            engine = create_engine(database_url)
            try:
                wait_until(lambda: "pending" not in email_statuses(engine), timeout=60, what="every delivery recorded")
                time.sleep(1.0)
                statuses = email_statuses(engine)
            finally:
                engine.dispose()
    check_once_each(f"{backend}, {count} at {rate or 'once'}", server, count, statuses)
    latencies = [server.accepted[rcpt] - at for rcpt, at in published.items()]
    elapsed = max(server.accepted.values()) - min(published.values())
    return {
        "messages_per_s": count / elapsed,
        "emails_accepted": server.count,
        "addresses_accepted_twice": sum(1 for n in server.copies.values() if n > 1),
        **percentiles(latencies),
    }


def burst(backend: str, tmp: Path, server: StampingServer) -> dict[str, float]:
    return event_to_smtp(backend, tmp, server, BURST_MESSAGES, rate=None)


def steady(backend: str, tmp: Path, server: StampingServer) -> dict[str, float]:
    return {"rate_per_s": STEADY_RATE, **event_to_smtp(backend, tmp, server, STEADY_RATE * STEADY_SECONDS, STEADY_RATE)}


# Report ------------------------------------------------------------------------------------


def phase(title: str, run: Any) -> Any:
    print(f"... {title}", flush=True)
    started = time.perf_counter()
    result = run()
    brief = ", ".join(f"{key} {value:,.1f}" for key, value in result.items())
    print(f"    {brief}  ({time.perf_counter() - started:.1f}s)", flush=True)
    return result


def main() -> None:
    started_at = datetime.now(UTC).isoformat()
    server = StampingServer()
    results: dict[str, Any] = {"baseline": {}, "burst": {}, "steady": {}}
    try:
        with tempfile.TemporaryDirectory(prefix="peerlink-bench-") as directory:
            tmp = Path(directory)
            for backend in BACKENDS:
                # The baseline right before each measure it is the reference of: this machine's
                # load changes by the minute, and a ratio should compare like with like.
                results["baseline"][backend] = phase(
                    f"raw smtplib, {BASELINE_MESSAGES:,} emails to the same server", lambda: baseline(server)
                )
                results["burst"][backend] = phase(
                    f"event -> SMTP acceptance, a burst of {BURST_MESSAGES:,}, {backend}",
                    lambda b=backend: burst(b, tmp, server),
                )
                results["steady"][backend] = phase(
                    f"event -> SMTP acceptance, {STEADY_RATE}/s for {STEADY_SECONDS}s, {backend}",
                    lambda b=backend: steady(b, tmp, server),
                )
    finally:
        server.stop()
    rows = []
    for backend in BACKENDS:
        raw, figures, steady_ = results["baseline"][backend], results["burst"][backend], results["steady"][backend]
        figures["ratio_to_raw"] = figures["messages_per_s"] / raw["kept_connection_per_s"]
        steady_["p99_ratio_to_raw"] = steady_["p99_ms"] / raw["p99_ms"]
        rows += [
            (
                f"raw SMTP, one kept connection (before {backend})",
                f"{raw['kept_connection_per_s']:,.0f}/s",
                "1.00",
                f"p50 {raw['p50_ms']:.1f} ms, p99 {raw['p99_ms']:.1f} ms",
            ),
            (
                "raw SMTP, a connection per message",
                f"{raw['connection_each_per_s']:,.0f}/s",
                f"{raw['connection_each_per_s'] / raw['kept_connection_per_s']:.2f}",
                "",
            ),
            (
                f"event -> SMTP, a burst of {BURST_MESSAGES:,}, {backend}",
                f"{figures['messages_per_s']:,.0f}/s",
                f"{figures['ratio_to_raw']:.2f}",
                "(queued behind the burst)",
            ),
            (
                f"event -> SMTP at {STEADY_RATE}/s, {backend}",
                f"{steady_['messages_per_s']:,.0f}/s",
                "",
                f"p50 {steady_['p50_ms']:.0f} ms, p99 {steady_['p99_ms']:.0f} ms",
            ),
        ]
    table = [("measure", "rate", "x raw", "latency"), *rows]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    print(f"\nSummary ({os.cpu_count()} cores; x raw = ratio to raw SMTP sends over one kept connection, just before)")
    for index, line in enumerate(table):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
    report = {"started_at": started_at, "cores": os.cpu_count(), "correct": not PROBLEMS, "problems": PROBLEMS}
    path = write_results("notification_delivery", {**report, **results})
    print(f"\nwritten to {path}")
    if PROBLEMS:
        print("\nINCORRECT (each event owes exactly one email, to its own address):", file=sys.stderr)
        for problem in PROBLEMS:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)
    print("correct: exactly one email accepted for each event, none twice, every delivery recorded as sent")


if __name__ == "__main__":
    main()
