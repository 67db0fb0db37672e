"""What the crash and restart tests share: a site of real processes, steady referral traffic from a
client that retries, a spy that outlives a broker restart, servers stopped and started, and the
final count of what was committed, published and done.

One referral has one effect we can see from outside: notifications' acknowledgement email, to an
address of its own (``load-<n>-<run>@example.org``), so that a lost or doubled effect is a missing
or repeated address at the SMTP sink.
"""

from __future__ import annotations

import collections
import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from peerlink.amqp import connect
from peerlink.contracts import EVENTS_EXCHANGE
from peerlink.db import create_engine
from peerlink.tables import inbox, outbox
from peerlink.testing import ServiceProcess, wait_for_consumer, wait_for_http, wait_until
from peerlink.topology import declare_exchanges

RECEIVED = "peerlink.referral.received.v1"


class ReferralLoad:
    """POST /referrals at a steady pace from a thread, as a careful client would: each referral has
    its own ``Idempotency-Key`` and is retried with that same key (connection refused, timeout,
    5xx) until the API answers 201, so that a lost response never makes a second referral."""

    def __init__(self, base: str, headers: dict[str, str], *, per_second: float = 30.0, timeout: float = 5.0):
        self.base = base
        self.headers = headers
        self.interval = 1.0 / per_second
        self.timeout = timeout
        self.run_id = uuid.uuid4().hex[:6]
        self.keys: dict[str, str] = {}  # Idempotency-Key -> the referral's email address
        self.accepted: dict[str, str] = {}  # Idempotency-Key -> referral id
        self.statuses: collections.Counter[str] = collections.Counter()  # every answer, "refused" for no answer
        # The Retry-After header of every 503 ("absent" when it had none): what the client was told.
        self.retry_after: collections.Counter[str] = collections.Counter()
        self.retries = 0
        self.slowest = 0.0
        self.error: BaseException | None = None  # what stopped the client early (an unexpected answer)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=timeout)

    def start(self) -> ReferralLoad:
        self._thread = threading.Thread(target=self._run, name="referral-load", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, settle_within: float = 60.0) -> None:
        """Stop taking new referrals; wait until every one begun has been accepted."""
        self._stop.set()
        if self._thread:
            self._thread.join(settle_within)
            assert not self._thread.is_alive(), f"requests still failing after {settle_within}s: {dict(self.statuses)}"
        self._client.close()
        if self.error is not None:
            raise self.error

    def wait_for(self, accepted: int, timeout: float = 30.0) -> None:
        wait_until(lambda: len(self.accepted) >= accepted, timeout=timeout, what=f"{accepted} referrals accepted")

    @property
    def emails(self) -> set[str]:
        return set(self.keys.values())

    def _run(self) -> None:
        try:
            self._post_steadily()
        except BaseException as exc:  # re-raised by stop(), in the test's own thread
            self.error = exc

    def _post_steadily(self) -> None:
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            key = f"fault-{self.run_id}-{n}"
            self.keys[key] = f"load-{n}-{self.run_id}@example.org"
            self._post_until_accepted(key, referral(self.keys[key], n))
            n += 1
            next_at = max(next_at + self.interval, time.monotonic() - 1.0)
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _post_until_accepted(self, key: str, body: dict[str, Any]) -> None:
        headers = {**self.headers, "Idempotency-Key": key}
        give_up = time.monotonic() + 90
        while time.monotonic() < give_up:
            started = time.monotonic()
            try:
                response = self._client.post(f"{self.base}/referrals", json=body, headers=headers)
            except httpx.TransportError:
                self.statuses["refused"] += 1
            else:
                self.statuses[str(response.status_code)] += 1
                if response.status_code == 201:
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    self.accepted[key] = response.json()["id"]
                    return
                assert response.status_code >= 500, f"{response.status_code}: {response.text}"
                if response.status_code == 503:
                    self.retry_after[response.headers.get("Retry-After", "absent")] += 1
                # Whatever the outage, the client is told so in a problem document, never a trace.
                assert response.headers["content-type"].startswith("application/problem+json"), response.text
                assert "Traceback" not in response.text
            self.retries += 1
            time.sleep(0.2)


def referral(email: str, n: int) -> dict[str, Any]:
    return {
        "site": "ebbw-vale",
        "person": {
            "given_name": "Rhian",
            "family_name": "Pritchard",
            # One person each: the same name and date of birth would be taken for the same person.
            "date_of_birth": (date(1950, 1, 1) + timedelta(days=n)).isoformat(),
            "preferred_language": "en",
            "contact": {"email": email, "channels": ["email"]},
        },
        "source": "self",
        "support_needs": ["alcohol"],
        "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
    }


class WireSpy:
    """A durable queue bound to ``peerlink.events`` for referral.received (or to ``bindings``:
    (exchange, routing key) pairs), read with a fresh connection each time: unlike an exclusive
    queue it keeps what arrives across a broker restart."""

    def __init__(
        self, amqp_url: str, bindings: Iterable[tuple[str, str]] = ((EVENTS_EXCHANGE, "*.referral.received"),)
    ):
        self.amqp_url = amqp_url
        self.queue = f"fault-spy-{uuid.uuid4().hex[:8]}"
        self.ids: list[str] = []
        with self._channel() as channel:
            declare_exchanges(channel)
            channel.queue_declare(self.queue, durable=True, auto_delete=False)
            for exchange, routing_key in bindings:
                channel.queue_bind(self.queue, exchange, routing_key)

    @contextlib.contextmanager
    def _channel(self) -> Any:
        connection = connect(self.amqp_url, name="fault-spy")
        try:
            yield connection.channel()
        finally:
            with contextlib.suppress(Exception):
                connection.release()

    def drain(self) -> list[str]:
        with self._channel() as channel:
            while (message := channel.basic_get(self.queue, no_ack=True)) is not None:
                self.ids.append(str(message.properties["message_id"]))
        return self.ids


@dataclass
class Site:
    """One site's referrals (serve and work) and notifications (work), each its own process."""

    processes: Any
    site_env: Any
    databases: dict[str, str]
    amqp_url: str
    tokens: Any
    engines: dict[str, sa.Engine] = field(default_factory=dict)
    running: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, *, notifications: tuple[tuple[str, ...], ...] = ((),), **notifications_env: str) -> Site:
        """``notifications``: the ``--only`` components of each notifications worker (() = all)."""
        self.notifications_env = self.site_env("notifications", self.databases["notifications"], **notifications_env)
        for number, only in enumerate(notifications):
            self.start_notifications(only, name=f"notifications-{number}")
        wait_for_consumer(self.amqp_url, "notifications.inbox", timeout=60)
        self.referrals_env = self.site_env("referrals", self.databases["referrals"])
        self.running["api"] = self.processes("peerlink-referrals", "serve", env=self.referrals_env)
        self.start_referrals_work()
        wait_for_http(f"{self.base}/health/live", timeout=60)
        self.engines = {name: create_engine(url, pool_size=2) for name, url in self.databases.items()}
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.referrals_env['PEERLINK_PORT']}"

    def start_referrals_work(self) -> ServiceProcess:
        self.running["referrals-work"] = self.processes("peerlink-referrals", "work", env=self.referrals_env)
        return self.running["referrals-work"]

    def start_notifications(self, only: tuple[str, ...] = (), *, name: str = "notifications-0") -> ServiceProcess:
        args = [arg for component in only for arg in ("--only", component)]
        self.running[name] = self.processes("peerlink-notifications", "work", *args, env=self.notifications_env)
        return self.running[name]

    def load(self, **kwargs: Any) -> ReferralLoad:
        return ReferralLoad(self.base, self.tokens.header(), **kwargs)

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


def scalar(engine: sa.Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def kill_and_restart(process: ServiceProcess, restart: Any) -> ServiceProcess:
    """SIGKILL, then start a new one at once, as a supervisor would."""
    process.kill()
    return restart()


@dataclass
class Count:
    """The end of every test: what was committed, what went on the wire, what was done."""

    committed: int  # referral.received rows in the referrals outbox (one per referral taken)
    referrals: int  # referrals in the referrals database
    published: int  # distinct referral.received ids seen on the wire
    on_the_wire: int  # every copy seen (a relay killed after publishing, before marking, sends again)
    emails: int  # acknowledgement emails at the SMTP sink, for this run's addresses
    lost: int  # referrals taken whose email never came, or events committed never published
    duplicated: int  # emails beyond one per address
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self, what: str) -> str:
        more = "".join(f", {value} {name}" for name, value in self.extra.items())
        return (
            f"{what}: {self.committed} committed, {self.published} published ({self.on_the_wire} on the wire), "
            f"{self.emails} emails, {self.lost} lost, {self.duplicated} duplicated{more}"
        )


def settle_and_count(site: Site, load: ReferralLoad, spy: WireSpy, smtp: Any, *, timeout: float = 60.0) -> Count:
    """Wait (bounded) for every accepted referral's email and every committed event on the wire,
    then count. A test fails on ``lost`` or ``duplicated``; the caller prints :meth:`Count.line`."""
    expected = load.emails
    assert set(load.keys) == set(load.accepted), "some referrals were never accepted"

    def ours() -> list[str]:
        return [m["To"] for m in list(smtp.messages) if m["To"] in expected]

    def committed_events() -> set[str]:
        with site.engines["referrals"].connect() as conn:
            return set(conn.execute(sa.select(outbox.c.event_id).where(outbox.c.event_type == RECEIVED)).scalars())

    with contextlib.suppress(AssertionError):  # a shortfall is reported by the counts below
        wait_until(lambda: set(ours()) >= expected, timeout=timeout, interval=0.25, what="every email")
    with contextlib.suppress(AssertionError):
        wait_until(lambda: set(spy.drain()) >= committed_events(), timeout=15, interval=0.25, what="every event")
    time.sleep(1.0)  # time for a late duplicate to show itself
    spy.drain()
    committed = committed_events()
    emails = ours()
    referrals = scalar(site.engines["referrals"], sa.text("SELECT count(*) FROM referrals"))
    unsent = scalar(
        site.engines["referrals"],
        sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)),
    )
    handled = scalar(
        site.engines["notifications"],
        sa.select(sa.func.count()).select_from(inbox).where(inbox.c.event_type == RECEIVED),
    )
    return Count(
        committed=len(committed),
        referrals=referrals,
        published=len(set(spy.ids) & committed),
        on_the_wire=len(spy.ids),
        emails=len(emails),
        lost=len(expected - set(emails)) + len(committed - set(spy.ids)),
        duplicated=len(emails) - len(set(emails)),
        extra={"left unsent": unsent, "handled by notifications": handled},
    )


def show(request: Any, line: str) -> None:
    """A test's figures, on the terminal even when output is captured (and in the captured output)."""
    print(line)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n  figures: {line}")


def assert_exactly_once(count: Count, load: ReferralLoad) -> None:
    accepted = len(load.accepted)
    assert count.referrals == accepted == len(set(load.accepted.values())), (count, accepted)
    assert count.committed == accepted, count
    assert count.lost == 0, count
    assert count.duplicated == 0, count
    assert count.extra["handled by notifications"] == accepted, count
    assert count.extra["left unsent"] == 0, count


# Servers ------------------------------------------------------------------------------------


def run(*args: str, timeout: float = 120) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=timeout)


def postgres_cluster(config: Path = Path("/etc/postgresql")) -> str:
    """The local PostgreSQL cluster's version, looked up as CI does (``ls /etc/postgresql | head -1``)
    to start it, so that the restart stops and starts the cluster CI runs, whichever version."""
    versions = sorted(entry.name for entry in config.iterdir() if entry.is_dir())
    assert versions, f"no PostgreSQL cluster under {config}"
    return versions[0]


def pg_ctlcluster(action: str) -> None:
    run("pg_ctlcluster", "--skip-systemctl-redirect", postgres_cluster(), "main", action)


def broker_answers() -> bool:
    return subprocess.run(["rabbitmqctl", "await_startup"], capture_output=True, timeout=120).returncode == 0


def postgres_answers(url: str) -> bool:
    engine = create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()
