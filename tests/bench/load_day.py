"""A day of three sites at 20 times their real volume, through the whole network, on loopback.

Run from the repository root (``make bench``, or alone: ``.venv/bin/python tests/bench/load_day.py``;
``--scale 5 --seconds 30`` for a short try). Every process is real: for Ebbw Vale, Merthyr and
Pontypridd, referrals, matching, events and notifications each run as ``peerlink-<service> serve``
and ``work``; the central office runs reporting's ``serve`` and ``work``, linked to every site with
``peerlink.central.link`` (RabbitMQ's shovel). Each site and the central office get a throwaway
vhost, and each service a throwaway PostgreSQL schema; emails go to a real SMTP server in this
process (``peerlink.testing.smtp``), texts to the notifications worker's log (``log:``). The
processes are started with ``make run``'s environment (``deploy/local/network.py``) and driven
with its activity (``deploy/local/activity.py``), extended here with what a day also holds.

A real day at one site (the model; each figure per site per day):

    5    referrals taken in, each triaged: ~80% accepted, ~10% declined, the rest left for later
    2    matching runs (waiting list read, run, published and confirmed): ~3 matches a day
    0.5  "start mentoring" rounds (the matched list read, ~60% of it started)
    30   coordinator reads: referral lists, a person's timeline, a referral's transitions or
         check-ins, the waiting list, mentors' caseloads, the notifications summary
    2    advocacy issues opened, 1 resolved
    3    wellbeing check-ins (baseline, then reviews)
    5    group sessions made, 8 people registered on each (40 registrations) and the register
         taken (~32 attendances)
    20   card sales
    the notifications that follow (acknowledgements, acceptances, matches, registrations), and
    5    reads of the central office's reports (per network, not per site)

Seeded first (not measured): 30 mentors, an art group and a card stall per site, 10 referrals.
At ``--scale 20`` that is 4,210 tasks and about 9,700 requests across the network, each given a
start time spread at random over ``--seconds`` (90) of wall time: 12 client threads take the
tasks in time order, wait for their start time (or start late when behind), and send every
request with an Idempotency-Key, retried with the same key after a dropped connection. The run
is bounded: no task is begun after ``--limit`` (300) seconds, so a machine that cannot keep up
does the first part of the day (a fair sample of it: the tasks are in random order) and the
report says how much, in real days. On 2 cores running all 26 processes the day ends late: a
20x day in 90 s (~100 requests/s) is above what they serve (~50-70/s), so it takes ~200 s, and
the report says how late each task started.

Loopback only: it refuses to start (exit 1, saying which) when the broker, its management API,
the database (``PEERLINK_TEST_AMQP_URL``, ``PEERLINK_TEST_DATABASE_URL``) or any URL a process is
given (broker, database, SMTP) is not on 127.0.0.1, ::1 or localhost.

The whole run takes about four minutes (the day itself about 200 s on 2 cores); it holds the
servers lock shared, as a test does, so that no other session restarts RabbitMQ or PostgreSQL
under it.

Measured: requests/s, overall and per endpoint class; p50/p99 latency per class; events/s
published by the relays and consumed by each service (counted from the outbox and inbox tables
and the central event log, by their timestamps); the lag from a referral's POST to its first
email and to its place in the central log; and the peak RSS (VmHWM) of every process. Baseline,
measured in the same run before the day: one client alone doing a small day on one site, so
the day's latency is reported against idle latency and its rate against one client's.

It fails (exit 1) on any loss: every outbox row published, every service's inbox holding
every event it subscribes to, the central log holding every site event bound for it (and the
central report = the sum of the sites' referrals), every referral's acknowledgement at the SMTP
server, no email failed; or on any request that failed other than an expected conflict (409).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _benchkit import AMQP_URL, POSTGRES_URL, loopback_only, throwaway_database, throwaway_vhost, write_results

from events.app import DEFINITION as EVENTS
from events.handlers import subscriptions as events_subscriptions
from matching.app import DEFINITION as MATCHING
from matching.handlers import subscriptions as matching_subscriptions
from notifications import store as notifications_store
from notifications.app import DEFINITION as NOTIFICATIONS
from notifications.handlers import subscriptions as notifications_subscriptions
from peerlink import central
from peerlink.broker_admin import ManagementApi, setup_site
from peerlink.contracts import EVENTS_EXCHANGE
from peerlink.db import create_engine
from peerlink.tables import inbox, outbox
from peerlink.testing import ServiceProcess, SmtpSink, Tokens, free_port, wait_for_consumer, wait_for_http
from peerlink.testing.exclusive import servers_held
from referrals.app import DEFINITION as REFERRALS
from referrals.handlers import subscriptions as referrals_subscriptions
from reporting.app import DEFINITION as REPORTING
from reporting.handlers import subscriptions as reporting_subscriptions
from reporting.store import event_log

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import activity  # noqa: E402 - make run's activity, from deploy/local
import network  # noqa: E402 - make run's process environment

SITES = network.SITES
SERVICES = network.SERVICES
DEFINITIONS = {"referrals": REFERRALS, "matching": MATCHING, "events": EVENTS, "notifications": NOTIFICATIONS}
SUBSCRIPTIONS = {
    "referrals": referrals_subscriptions,
    "matching": matching_subscriptions,
    "events": events_subscriptions,
    "notifications": notifications_subscriptions,
}
CLIENTS = 12
SERVE_THREADS = 4  # as make run
LOCK_TIMEOUT = 300.0  # seconds to wait while another session restarts a server
DRAIN_TIMEOUT = 90.0  # seconds for every event and email to arrive after the day's last request

# Per site per real day (the docstring's model); central reads are per network.
REAL_DAY = {
    "referral": 5,
    "matching": 2,
    "start": 0.5,
    "read": 30,
    "advocacy-open": 2,
    "advocacy-resolve": 1,
    "check-in": 3,
    "session": 5,
    "sale": 20,
}
CENTRAL_READS = 5
BASELINE_DAY = {"referral": 4, "matching": 1, "read": 30, "advocacy-open": 2, "check-in": 3, "session": 1, "sale": 10}

CENTRAL_CLASSES = {
    "/reports?small_numbers=show": "central report",
    "/reports.csv": "central report csv",
    "/reports/log": "central log counts",
}
_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def endpoint_class(method: str, service: str, path: str) -> str:
    """The endpoint classes the report groups requests by."""
    path = _ID.sub("/{id}", path.split("?")[0])
    if method == "GET":
        return "coordinator read"
    if service == "referrals":
        if path == "/referrals":
            return "referral intake"
        if path.endswith("/check-ins"):
            return "check-in"
        if path.startswith("/people/"):
            return "advocacy"
        return "referral triage"
    if service == "matching":
        return "matching run" if path.startswith("/matching-runs") else "mentor setup"
    if service == "events":
        for suffix, name in (("/registrations", "registration"), ("/attendance", "attendance"), ("/sales", "sale")):
            if path.endswith(suffix):
                return name
        return "event setup"
    return f"{service} write"


# What the clients record --------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    klass: str
    seconds: float
    status: int  # 0: no answer
    ended: float  # time.time()


class Conflict(Exception):
    """409: a state a concurrent coordinator got to first (two runs at once, a referral started twice)."""


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    referrals: list[tuple[str, str, float]] = field(default_factory=list)  # id, email, posted at
    failures: list[str] = field(default_factory=list)
    conflicts: Counter[str] = field(default_factory=Counter)


@dataclass
class SiteState:
    """What the clients of one site share: who is known, what can be acted on next."""

    people: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    baselined: set[str] = field(default_factory=set)
    open_issues: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    group: str | None = None
    stall: str | None = None
    scale: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class LoadSite(activity.Site):
    """make run's site activity, timed and keyed, with the rest of a coordinator's day."""

    def __init__(self, name: str, tokens: dict[str, str], run: Any, rng: random.Random, **shared: Any):
        super().__init__(name, tokens, run, rng)
        self.state: SiteState = shared["state"]
        self.recorder: Recorder = shared["recorder"]
        self.counter = shared["counter_from"]  # unique names and emails across the site's clients
        self.people = self.state.people
        self.group = self.state.group

    def call(self, method: str, service: str, path: str, *, body: Any = None, facilitator: bool = False) -> Any:
        headers = {**(self.facilitator if facilitator else self.coordinator), "Idempotency-Key": str(uuid.uuid4())}
        klass = endpoint_class(method, service, path)
        for attempt in range(3):  # a dropped connection is retried with the same key
            started = time.perf_counter()
            try:
                response = self.client.request(method, self.urls[service] + path, json=body, headers=headers)
            except httpx.TransportError as exc:
                self.recorder.calls.append(Call(klass, time.perf_counter() - started, 0, time.time()))
                if attempt == 2:
                    raise RuntimeError(f"{self.name} {method} {service}{path}: {exc!r}") from exc
                continue
            self.recorder.calls.append(Call(klass, time.perf_counter() - started, response.status_code, time.time()))
            break
        if response.status_code == 409:
            raise Conflict(f"{klass}: {response.text[:200]}")
        if response.status_code >= 400:
            raise RuntimeError(f"{self.name} {method} {service}{path}: {response.status_code} {response.text[:300]}")
        answer = response.json() if response.content else None
        self._remember(method, service, path, body, answer, posted=time.time() - (time.perf_counter() - started))
        return answer

    def _remember(self, method: str, service: str, path: str, body: Any, answer: Any, posted: float) -> None:
        if method != "POST" or service != "referrals":
            return
        if path == "/referrals":
            self.recorder.referrals.append((answer["id"], body["person"]["contact"]["email"], posted))
        elif path.endswith("/accept"):
            with self.state.lock:
                self.state.accepted.append(answer["id"])

    # The rest of the day ---------------------------------------------------------------------

    def read(self) -> None:
        rng, state = self.rng, self.state
        roll = rng.random()
        if roll < 0.3 or not state.accepted:
            status = rng.choice(["received", "accepted", "matched", "active"])
            self.call("GET", "referrals", f"/referrals?status={status}&limit=50")
        elif roll < 0.55:
            self.call("GET", "referrals", f"/people/{rng.choice(state.people)}")
        elif roll < 0.7:
            self.call("GET", "referrals", f"/referrals/{rng.choice(state.accepted)}/transitions")
        elif roll < 0.78:
            self.call("GET", "referrals", f"/referrals/{rng.choice(state.accepted)}/check-ins")
        elif roll < 0.88:
            self.call("GET", "referrals", "/waiting-list")
        elif roll < 0.94:
            self.call("GET", "matching", "/mentors/caseloads")
        else:
            self.call("GET", "notifications", "/deliveries/summary")

    def open_issue(self) -> None:
        with self.state.lock:
            person = self.rng.choice(self.state.people)
            if len(self.state.open_issues[person]) >= 3:
                return
            self.state.open_issues[person].append("opening")
        category = self.rng.choice(["housing", "benefits", "health-services", "debt"])
        issue = self.call(
            "POST", "referrals", f"/people/{person}/advocacy-issues", body={"category": category, "summary": "Letter"}
        )
        with self.state.lock:
            self.state.open_issues[person].remove("opening")
            self.state.open_issues[person].append(issue["id"])

    def resolve_issue(self) -> None:
        with self.state.lock:
            open_now = [(p, i) for p, issues in self.state.open_issues.items() for i in issues if i != "opening"]
            if not open_now:
                return
            person, issue = self.rng.choice(open_now)
            self.state.open_issues[person].remove(issue)
        self.call(
            "POST",
            "referrals",
            f"/people/{person}/advocacy-issues/{issue}/resolve",
            body={"resolution": self.rng.choice(["resolved", "referred-on"])},
        )

    def check_in(self) -> None:
        with self.state.lock:
            if not self.state.accepted:
                return
            referral = self.rng.choice(self.state.accepted)
            timepoint = "review" if referral in self.state.baselined else "baseline"
            self.state.baselined.add(referral)
        answers = {code: self.rng.randint(1, 5) for code in self.state.scale}
        self.call(
            "POST", "referrals", f"/referrals/{referral}/check-ins", body={"timepoint": timepoint, "answers": answers}
        )

    def sale(self) -> None:
        body = {
            "kind": "cards",
            "quantity": self.rng.randint(1, 6),
            "unit_price_pence": self.rng.choice([250, 300, 500]),
        }
        self.call("POST", "events", f"/events/{self.state.stall}/sales", body=body, facilitator=True)

    def session(self) -> None:
        if len(self.people) >= 8:
            self.session_today(self.state.group)  # type: ignore[arg-type]

    def card_stall(self) -> str:
        starts = datetime.now(UTC) + timedelta(hours=1)
        stall = self.call(
            "POST",
            "events",
            "/events",
            body={
                "kind": "card-sale",
                "title_cy": "Stondin gardiau",
                "title_en": "Card stall",
                "venue": "The market hall",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=8)).isoformat(),
                "public": True,
            },
            facilitator=True,
        )
        return stall["id"]  # type: ignore[no-any-return]

    def do(self, task: str) -> None:
        actions = {
            "referral": self.refer,
            "matching": self.matching_run,
            "start": self.start_mentoring,
            "read": self.read,
            "advocacy-open": self.open_issue,
            "advocacy-resolve": self.resolve_issue,
            "check-in": self.check_in,
            "session": self.session,
            "sale": self.sale,
        }
        actions[task]()


# The network ----------------------------------------------------------------------------------


@dataclass
class Process:
    label: str  # e.g. "merthyr referrals serve"
    service: ServiceProcess


@dataclass
class Network:
    site_urls: dict[str, str]
    central_url: str
    databases: dict[tuple[str, str], str]  # (site or "central", service) -> URL
    bases: dict[tuple[str, str], str]
    tokens: Tokens
    sink: SmtpSink
    processes: list[Process] = field(default_factory=list)

    def run_for(self, site: str) -> Any:
        bases = self.bases

        class Run:
            def base(self, service: str) -> str:
                return bases[(site, service)]

        return Run()


@contextlib.contextmanager
def started_network(tmp: Path) -> Any:
    """Three sites and the central office, each process started as make run starts it."""
    management = ManagementApi.for_amqp_url(AMQP_URL)
    tokens = Tokens()
    for site in SITES:
        tokens.token("coordinator", site)
        tokens.token("facilitator", site)
    tokens.token("central-reader", "central")
    with contextlib.ExitStack() as stack:
        sink = SmtpSink()
        stack.callback(sink.stop)
        central_url = stack.enter_context(throwaway_vhost())
        setup_site(central_url, management)
        site_urls, databases, bases = {}, {}, {}
        for site in SITES:
            site_urls[site] = stack.enter_context(throwaway_vhost())
            setup_site(site_urls[site], management)
            central.link(site_urls[site], central_url, site_management=management, central_management=management)
            for service in SERVICES:
                migrate = DEFINITIONS[service].migrations.upgrade
                databases[(site, service)] = stack.enter_context(throwaway_database("postgresql", tmp, migrate))
        databases[("central", "reporting")] = stack.enter_context(
            throwaway_database("postgresql", tmp, REPORTING.migrations.upgrade)
        )
        net = Network(site_urls, central_url, databases, bases, tokens, sink)
        stack.callback(stop_all, net)
        for site in SITES:
            for service in SERVICES:
                port = free_port()
                env = network.site_environment(
                    site,
                    database_url=databases[(site, service)],
                    amqp_url=site_urls[site],
                    tokens=tokens.config(),
                    port=port,
                    smtp_url=sink.url,
                )
                bases[(site, service)] = f"http://127.0.0.1:{port}"
                start(net, tmp, f"{site} {service}", service, env)
        port = free_port()
        central_env = {
            "PEERLINK_SITE": "central",
            "PEERLINK_DATABASE_URL": databases[("central", "reporting")],
            "PEERLINK_AMQP_URL": central_url,
            "PEERLINK_API_TOKENS": tokens.config(),
            "PEERLINK_PORT": str(port),
        }
        bases[("central", "reporting")] = f"http://127.0.0.1:{port}"
        start(net, tmp, "central reporting", "reporting", central_env)
        for base in bases.values():
            wait_for_http(f"{base}/health/ready", timeout=120)
        for site in SITES:
            for service in SERVICES:
                wait_for_consumer(site_urls[site], f"{service}.inbox", timeout=60)
        wait_for_consumer(central_url, "reporting.inbox", timeout=60)
        yield net


def start(net: Network, tmp: Path, label: str, service: str, env: dict[str, str]) -> None:
    # Every server a process is pointed at (broker, database, SMTP, SMS provider) is on the loopback.
    loopback_only({f"{label}: {name}": url for name, url in env.items() if name.endswith("_URL") and "://" in url})
    for command in ("serve", "work"):
        args = [f"peerlink-{service}", command] + (["--threads", str(SERVE_THREADS)] if command == "serve" else [])
        log = tmp / f"{label.replace(' ', '-')}-{command}.log"
        net.processes.append(Process(f"{label} {command}", ServiceProcess(args, env, log).start()))


def stop_all(net: Network) -> None:
    for process in net.processes:
        process.service.stop()


# Peak memory ---------------------------------------------------------------------------------


def _status(pid: int, key: str) -> int:
    """A /proc/<pid>/status figure in kB (0 if the process is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def peak_memory(net: Network) -> dict[str, int]:
    """Peak RSS (VmHWM, kB) of each process; a serve's gunicorn worker counted on its own."""
    peaks: dict[str, int] = {}
    for process in net.processes:
        pid = process.service.process.pid
        peaks[process.label] = _status(pid, "VmHWM")
        for child in _children(pid):
            peaks[f"{process.label} worker"] = max(peaks.get(f"{process.label} worker", 0), _status(child, "VmHWM"))
    peaks["load generator (this process)"] = _status(os.getpid(), "VmHWM")
    return peaks


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (/proc/<pid>/stat), 0 if it is gone."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def cpu_used(net: Network) -> dict[str, float]:
    """CPU seconds used so far by each process (a serve with its gunicorn worker) and by this one."""
    used = {}
    for process in net.processes:
        pid = process.service.process.pid
        used[process.label] = _cpu_seconds(pid) + sum(_cpu_seconds(child) for child in _children(pid))
    times = os.times()
    used["load generator (this process)"] = times.user + times.system
    return used


# The day ----------------------------------------------------------------------------------------


def schedule(scale: float, seconds: float, rng: random.Random) -> list[tuple[float, str, str]]:
    """(start offset, site or "central", task), in time order."""
    tasks = []
    for site in SITES:
        for task, per_day in REAL_DAY.items():
            count = round(per_day * scale)
            tasks += [(rng.uniform(0, seconds), site, task) for _ in range(count)]
    tasks += [(rng.uniform(0, seconds), "central", "report") for _ in range(round(CENTRAL_READS * scale))]
    return sorted(tasks)


class Clients:
    """The client threads' own site objects (one per thread and site: httpx clients and counters apart)."""

    def __init__(self, net: Network, recorder: Recorder, states: dict[str, SiteState], seed: int):
        self.net, self.recorder, self.states = net, recorder, states
        self.local = threading.local()
        self.numbers = itertools.count(1)
        self.seed = seed

    def site(self, name: str) -> LoadSite:
        mine = self.local.__dict__.setdefault("sites", {})
        if name not in mine:
            number = next(self.numbers)
            site_tokens = {role: self.net.tokens.token(role, name) for role in ("coordinator", "facilitator")}
            mine[name] = LoadSite(
                name,
                site_tokens,
                self.net.run_for(name),
                random.Random(self.seed * 1000 + number),
                state=self.states[name],
                recorder=self.recorder,
                counter_from=number * 100_000,
            )
        return mine[name]  # type: ignore[no-any-return]

    def central(self) -> httpx.Client:
        if not hasattr(self.local, "central"):
            self.local.central = httpx.Client(timeout=30)
        return self.local.central  # type: ignore[no-any-return]

    def report(self, path: str) -> None:
        started = time.perf_counter()
        response = self.central().get(
            self.net.bases[("central", "reporting")] + path, headers=self.net.tokens.header("central-reader", "central")
        )
        self.recorder.calls.append(
            Call(CENTRAL_CLASSES[path], time.perf_counter() - started, response.status_code, time.time())
        )
        if response.status_code != 200:
            raise RuntimeError(f"central {path}: {response.status_code} {response.text[:200]}")

    def run(self, tasks: list[tuple[float, str, str]], threads: int, limit: float) -> dict[str, Any]:
        """Each thread takes the next task, waits for its start time and does it; none is begun
        after ``limit`` seconds (a machine that cannot keep up does part of the day, and says so)."""
        position, lock, lateness, done = iter(range(len(tasks))), threading.Lock(), [], []
        began = time.monotonic()
        rng = random.Random(self.seed)

        def client() -> None:
            while True:
                with lock:
                    index = next(position, None)
                if index is None or time.monotonic() - began > limit:
                    return
                at, site, task = tasks[index]
                done.append(index)
                wait = began + at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                lateness.append(max(0.0, -wait))
                try:
                    if site == "central":
                        self.report(rng.choice(list(CENTRAL_CLASSES)))
                    else:
                        self.site(site).do(task)
                except Conflict as exc:
                    self.recorder.conflicts[str(exc).split(":")[0]] += 1
                except (RuntimeError, httpx.HTTPError) as exc:
                    self.recorder.failures.append(f"{site} {task}: {exc}")

        workers = [threading.Thread(target=client, name=f"client-{n}") for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return {
            "seconds": time.monotonic() - began,
            "late_p99_s": percentile(lateness, 99),
            "tasks_done": len(done),
            "tasks_not_reached": len(tasks) - len(done),
        }


def seed_sites(clients: Clients) -> None:
    """Mentors, an art group, a card stall, the scale and ten referrals per site, in parallel."""

    def seed(name: str) -> None:
        site, state = clients.site(name), clients.states[name]
        try:
            for n in range(30):
                site.mentor(former_participant=n % 4 == 0)
            state.group = site.group = site.art_group()
            state.stall = site.card_stall()
            state.scale = [item["code"] for item in site.call("GET", "referrals", "/outcome-scale")["items"]]
            for _ in range(10):
                site.refer()
        except (RuntimeError, Conflict, httpx.HTTPError) as exc:
            clients.recorder.failures.append(f"seeding {name}: {exc}")

    threads = [threading.Thread(target=seed, args=(name,)) for name in SITES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# Counting at the end ------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _scalar(url: str, query: Any) -> Any:
    engine = create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(query).all()
    finally:
        engine.dispose()


def counts(net: Network, since: datetime) -> dict[str, Any]:
    """From every database: events written, published (all and since), consumed; the central log."""
    found: dict[str, Any] = {"sites": {}, "central": {}}
    for site in SITES:
        written: Counter[str] = Counter()
        to_central = 0
        per_service: dict[str, Any] = {}
        for service in SERVICES:
            url = net.databases[(site, service)]
            rows = _scalar(
                url,
                sa.select(
                    outbox.c.event_type,
                    outbox.c.exchange,
                    sa.func.count(),
                    sa.func.count(outbox.c.published_at),
                    sa.func.count().filter(outbox.c.published_at >= since),
                ).group_by(outbox.c.event_type, outbox.c.exchange),
            )
            consumed = _scalar(
                url,
                sa.select(
                    inbox.c.consumer, sa.func.count(), sa.func.count().filter(inbox.c.processed_at >= since)
                ).group_by(inbox.c.consumer),
            )
            for event_type, exchange, total, _, _ in rows:
                written[event_type] += total
                to_central += total if exchange == EVENTS_EXCHANGE else 0
            per_service[service] = {
                "written": sum(r[2] for r in rows),
                "published": sum(r[3] for r in rows),
                "published_in_day": sum(r[4] for r in rows),
                "consumed": {c: n for c, n, _ in consumed},
                "consumed_in_day": sum(r[2] for r in consumed),
            }
        for service in SERVICES:
            types = SUBSCRIPTIONS[service].types
            per_service[service]["expected"] = sum(n for t, n in written.items() if t in types)
        found["sites"][site] = {"services": per_service, "to_central": to_central}
    url = net.databases[("central", "reporting")]
    logged = _scalar(
        url,
        sa.select(event_log.c.site, sa.func.count(), sa.func.count().filter(event_log.c.received_at >= since)).group_by(
            event_log.c.site
        ),
    )
    found["central"] = {site: {"logged": n, "logged_in_day": d} for site, n, d in logged}
    deliveries = Counter()
    for site in SITES:
        table = notifications_store.deliveries
        for channel, status, n in _scalar(
            net.databases[(site, "notifications")],
            sa.select(table.c.channel, table.c.status, sa.func.count()).group_by(table.c.channel, table.c.status),
        ):
            deliveries[f"{channel} {status}"] += n
    found["deliveries"] = dict(deliveries)
    found["reporting_subscribes"] = len(reporting_subscriptions.types)
    return found


def losses(net: Network, found: dict[str, Any], recorder: Recorder) -> list[str]:
    """Everything that should have arrived and has not; empty when nothing is lost."""
    lost = []
    for site, figures in found["sites"].items():
        for service, numbers in figures["services"].items():
            if numbers["published"] != numbers["written"]:
                lost.append(f"{site} {service}: {numbers['written'] - numbers['published']} events not published")
            consumed = numbers["consumed"].get(service, 0)
            if consumed != numbers["expected"]:
                lost.append(f"{site} {service}: consumed {consumed} of {numbers['expected']} events")
        logged = found["central"].get(site, {}).get("logged", 0)
        if logged != figures["to_central"]:
            lost.append(f"central: {logged} of {figures['to_central']} events from {site}")
    arrived = {m["X-Envelope-To"] for m in net.sink.messages}
    missing = [email for _, email, _ in recorder.referrals if email not in arrived]
    if missing:
        lost.append(f"{len(missing)} referrals without an email (e.g. {missing[0]})")
    if found["deliveries"].get("email sent", 0) != len(net.sink.messages):
        lost.append(f"{found['deliveries'].get('email sent', 0)} emails sent, {len(net.sink.messages)} received")
    if found["deliveries"].get("email failed", 0):
        lost.append(f"{found['deliveries']['email failed']} emails failed")
    return lost


def drained(net: Network, recorder: Recorder, since: datetime) -> list[str]:
    """Waits (bounded) until nothing is lost any more; returns what is still missing."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        lost = losses(net, counts(net, since), recorder)
        if not lost or time.monotonic() > deadline:
            return lost
        time.sleep(1)


def central_sum(net: Network, recorder: Recorder) -> dict[str, Any]:
    """The central report's referrals, per site and for the network, against what each site took."""
    body = httpx.get(
        net.bases[("central", "reporting")] + "/reports?small_numbers=show",
        headers=net.tokens.header("central-reader", "central"),
        timeout=30,
    ).json()
    taken: Counter[str] = Counter()
    for site in SITES:
        listed = httpx.get(
            net.bases[(site, "referrals")] + "/referrals?limit=1",
            headers=net.tokens.header("coordinator", site),
            timeout=30,
        ).json()
        taken[site] = listed["total"]
    per_site = {site: body["sites"].get(site, {}).get("referrals", {}).get("received") for site in SITES}
    network_total = body["network"]["referrals"]["received"]
    return {
        "sites_own": dict(taken),
        "central_per_site": per_site,
        "central_network": network_total,
        "equal": per_site == dict(taken) and network_total == sum(taken.values()),
    }


def lags(net: Network, recorder: Recorder) -> dict[str, Any]:
    """A referral's POST to its first email and to its row in the central log (seconds)."""
    first_email: dict[str, float] = {}
    for message, at in zip(net.sink.messages, net.sink.arrived_at, strict=True):
        to = message["X-Envelope-To"]
        first_email[to] = min(at, first_email.get(to, at))
    logged = dict(
        _scalar(
            net.databases[("central", "reporting")],
            sa.select(event_log.c.subject, event_log.c.received_at).where(
                event_log.c.event_type == "peerlink.referral.received.v1"
            ),
        )
    )
    to_email = [first_email[email] - posted for _, email, posted in recorder.referrals if email in first_email]
    to_central = [
        logged[referral].timestamp() - posted for referral, _, posted in recorder.referrals if referral in logged
    ]
    return {
        "referral_to_email": {"p50": percentile(to_email, 50), "p99": percentile(to_email, 99), "n": len(to_email)},
        "referral_to_central": {
            "p50": percentile(to_central, 50),
            "p99": percentile(to_central, 99),
            "n": len(to_central),
        },
    }


def by_class(calls: list[Call], seconds: float) -> dict[str, dict[str, float]]:
    grouped: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        grouped[call.klass].append(call)
    grouped["all"] = list(calls)
    return {
        klass: {
            "requests": len(items),
            "per_s": len(items) / seconds,
            "p50_ms": 1000 * percentile([c.seconds for c in items], 50),
            "p99_ms": 1000 * percentile([c.seconds for c in items], 99),
            "errors": sum(1 for c in items if c.status == 0 or c.status >= 500),
        }
        for klass, items in sorted(grouped.items())
    }


# The run -----------------------------------------------------------------------------------------


def baseline(clients: Clients) -> dict[str, Any]:
    """One client alone, a small day on one site: idle latency per class and one client's rate."""
    recorder, day_recorder = Recorder(), clients.recorder
    site = clients.site(SITES[0])
    site.recorder = clients.recorder = recorder
    tasks = [task for task, count in BASELINE_DAY.items() for _ in range(count)]
    random.Random(5).shuffle(tasks)
    started = time.perf_counter()
    for task in tasks:
        try:
            site.do(task)
        except Conflict as exc:
            recorder.conflicts[str(exc)] += 1
    for path in [*CENTRAL_CLASSES, *CENTRAL_CLASSES]:
        clients.report(path)
    seconds = time.perf_counter() - started
    site.recorder = clients.recorder = day_recorder
    day_recorder.referrals += recorder.referrals
    return {"seconds": seconds, "classes": by_class(recorder.calls, seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=20.0, help="times a real day's volume (20)")
    parser.add_argument("--seconds", type=float, default=90.0, help="wall time the day is spread over (90)")
    parser.add_argument("--limit", type=float, default=300.0, help="no task is begun after this (300 s)")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"concurrent client threads ({CLIENTS})")
    options = parser.parse_args()
    # Before anything is touched (the servers lock included): the load goes to 127.0.0.1 only.
    loopback_only(
        {
            "PEERLINK_TEST_AMQP_URL": AMQP_URL,
            "PEERLINK_TEST_DATABASE_URL": POSTGRES_URL,
            "RabbitMQ's management API": ManagementApi.for_amqp_url(AMQP_URL).url,
        }
    )
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    # Held shared, as a test holds it: no other session's test restarts a server under the load.
    with servers_held(timeout=LOCK_TIMEOUT), tempfile.TemporaryDirectory(prefix="peerlink-load-") as directory:
        print("starting three sites and the central office ...", flush=True)
        clock = time.perf_counter()
        with started_network(Path(directory)) as net:
            startup = time.perf_counter() - clock
            print(f"  {len(net.processes)} processes ready in {startup:.0f} s", flush=True)
            recorder = Recorder()
            states = {site: SiteState() for site in SITES}
            clients = Clients(net, recorder, states, seed=7)
            seed_sites(clients)
            if recorder.failures:
                print("seeding failed:", *recorder.failures[:5], sep="\n  ")
                return 1
            print("baseline: one client alone ...", flush=True)
            idle = baseline(clients)
            tasks = schedule(options.scale, options.seconds, random.Random(11))
            print(
                f"the day: {len(tasks)} tasks over {options.seconds:.0f} s, {options.clients} clients ...", flush=True
            )
            day_began = datetime.now(UTC)
            recorder.calls.clear()
            cpu_before = cpu_used(net)
            day = clients.run(tasks, options.clients, options.limit)
            load_during = os.getloadavg()
            drain_began = time.perf_counter()
            lost = drained(net, recorder, day_began)
            day["drain_s"] = time.perf_counter() - drain_began
            cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_used(net).items()}
            found = counts(net, day_began)
            summed = central_sum(net, recorder)
            memory = peak_memory(net)
            lag = lags(net, recorder)
            connections = _scalar(
                net.databases[("central", "reporting")], sa.text("SELECT count(*) FROM pg_stat_activity")
            )[0][0]
    if not summed["equal"]:
        lost.append(f"central report is not the sum of the sites: {summed}")
    lost += [f"request failed: {failure}" for failure in recorder.failures[:20]]
    loaded = by_class(recorder.calls, day["seconds"])
    results = {
        "started_at": started_at.isoformat(),
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after_day": load_during,
        "scale": options.scale,
        "day_seconds_planned": options.seconds,
        "day_limit": options.limit,
        "clients": options.clients,
        "tasks": len(tasks),
        "startup_s": startup,
        "day": day,
        "baseline": idle,
        "http": loaded,
        "conflicts": dict(recorder.conflicts),
        "events": event_rates(found, day["seconds"] + day["drain_s"]),
        "counts": found,
        "central_sum": summed,
        "lag_s": lag,
        "peak_rss_kb": memory,
        "cpu_s": cpu,
        "cpu_share_of_machine": sum(cpu.values()) / ((os.cpu_count() or 1) * (day["seconds"] + day["drain_s"])),
        "postgres_connections_at_end": connections,
        "lost": lost,
    }
    results["summary"] = summary(results)
    print_report(results)
    path = write_results("load_day", results)
    print(f"\nwritten to {path}")
    if lost:
        print("\nLOSS OR FAILURE:", *lost, sep="\n  ")
        return 1
    return 0


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures, each against its baseline from the same run where it has one.

    CPU per request is the figure a shared machine does not distort: every process of the
    network (APIs, relays, consumers, the emails, the central office) over the day, divided by
    the requests; the capacity of these cores for this mix follows from it."""
    http, idle, events = results["http"], results["baseline"]["classes"], results["events"]
    requests = http["all"]["requests"]
    network_cpu = sum(v for k, v in results["cpu_s"].items() if not k.startswith("load generator"))
    per_request = network_cpu / requests
    done = results["day"]["tasks_done"] / results["tasks"]
    real_day_requests = requests / (results["scale"] * done) / len(SITES)
    capacity = (results["cores"] or 1) / per_request
    memory = results["peak_rss_kb"]
    rows = [
        {
            "measure": "requests/s, 12 clients, the day",
            "value": round(http["all"]["per_s"], 1),
            "unit": "req/s",
            "ratio": round(http["all"]["per_s"] / idle["all"]["per_s"], 2),
            "baseline": "one client alone",
        },
        {
            "measure": "p50 latency, all requests",
            "value": round(http["all"]["p50_ms"]),
            "unit": "ms",
            "ratio": round(http["all"]["p50_ms"] / idle["all"]["p50_ms"], 1),
            "baseline": "one client alone (idle)",
        },
        {
            "measure": "p99 latency, all requests",
            "value": round(http["all"]["p99_ms"]),
            "unit": "ms",
            "ratio": round(http["all"]["p99_ms"] / idle["all"]["p99_ms"], 1),
            "baseline": "one client alone (idle)",
        },
        {"measure": "events published/s", "value": round(events["published_total"]["per_s"], 1), "unit": "events/s"},
        {
            "measure": "referral POST to its first email, p50 / p99",
            "value": f"{results['lag_s']['referral_to_email']['p50']:.2f} / "
            f"{results['lag_s']['referral_to_email']['p99']:.2f}",
            "unit": "s",
        },
        {
            "measure": "referral POST to the central log, p50 / p99",
            "value": f"{results['lag_s']['referral_to_central']['p50']:.2f} / "
            f"{results['lag_s']['referral_to_central']['p99']:.2f}",
            "unit": "s",
        },
        {
            "measure": "network CPU per request (events and emails included)",
            "value": round(1000 * per_request, 1),
            "unit": "ms",
        },
        {
            "measure": "capacity of these cores for this mix, at full use",
            "value": round(capacity),
            "unit": "req/s",
            "ratio": round(capacity / (real_day_requests * len(SITES) * 20 / results["day_seconds_planned"]), 2),
            "baseline": "a 20x day in the planned time",
        },
        {
            "measure": "requests in one real day at one site (the model)",
            "value": round(real_day_requests),
            "unit": "req",
        },
        {
            "measure": "peak RSS, largest process / all together",
            "value": f"{max(memory.values()) / 1024:.0f} / {sum(memory.values()) / 1024:.0f}",
            "unit": "MB",
        },
    ]
    return rows


def event_rates(found: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Events of the day (from its start to the end of the drain) per service, and per second."""
    published: Counter[str] = Counter()
    consumed: Counter[str] = Counter()
    for figures in found["sites"].values():
        for service, numbers in figures["services"].items():
            published[service] += numbers["published_in_day"]
            consumed[service] += numbers["consumed_in_day"]
    consumed["central reporting"] = sum(c["logged_in_day"] for c in found["central"].values())
    return {
        "seconds": seconds,
        "published": {s: {"events": n, "per_s": n / seconds} for s, n in published.items()},
        "published_total": {"events": sum(published.values()), "per_s": sum(published.values()) / seconds},
        "consumed": {s: {"events": n, "per_s": n / seconds} for s, n in consumed.items()},
    }


def print_report(results: dict[str, Any]) -> None:
    day, idle = results["day"], results["baseline"]["classes"]
    done = day["tasks_done"] / results["tasks"]
    print(
        f"\nThe day: {day['tasks_done']} of {results['tasks']} tasks at {results['scale']:g}x ({done:.0%}, "
        f"{results['scale'] * done:.1f} real days) in {day['seconds']:.1f} s (planned "
        f"{results['day_seconds_planned']:.0f} s, none begun after {results['day_limit']:.0f} s; p99 start "
        f"{day['late_p99_s']:.1f} s late), drained in {day['drain_s']:.1f} s"
    )
    print(
        f"  {results['cores']} cores, load average {results['load_average_before'][0]:.1f} before, "
        f"{results['load_average_after_day'][0]:.1f} after; this network used "
        f"{results['cpu_share_of_machine']:.0%} of the machine's CPU meanwhile (the rest: other work)"
    )
    print(f"\n  {'endpoint class':<18} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'idle p50':>8}")
    for klass, row in results["http"].items():
        base = idle.get(klass, {}).get("p50_ms")
        ratio = f"{row['p50_ms'] / base:6.1f}x" if base else "      -"
        print(
            f"  {klass:<18} {row['requests']:>8} {row['per_s']:>7.1f} {row['p50_ms']:>7.0f} {row['p99_ms']:>7.0f}"
            f" {ratio:>8}"
        )
    single = idle["all"]["per_s"]
    print(
        f"\n  one client alone: {single:.1f} req/s; the day: {results['http']['all']['per_s']:.1f} req/s "
        f"({results['http']['all']['per_s'] / single:.1f}x)"
    )
    if results["conflicts"]:
        print(f"  expected conflicts (409): {results['conflicts']}")
    events = results["events"]
    print(f"\n  events published: {events['published_total']['events']} ({events['published_total']['per_s']:.0f}/s)")
    for service, row in sorted(events["published"].items()):
        print(f"    {service:<20} published {row['events']:>6} ({row['per_s']:6.1f}/s)")
    for service, row in sorted(events["consumed"].items()):
        print(f"    {service:<20} consumed  {row['events']:>6} ({row['per_s']:6.1f}/s)")
    lag = results["lag_s"]
    for name, row in lag.items():
        print(f"  {name.replace('_', ' ')}: p50 {row['p50']:.2f} s, p99 {row['p99']:.2f} s ({row['n']} referrals)")
    summed = results["central_sum"]
    print(
        f"  central referrals {summed['central_network']} = sum of the sites {sum(summed['sites_own'].values())}: "
        f"{summed['equal']}"
    )
    print(f"  emails: {results['counts']['deliveries']}")
    memory = results["peak_rss_kb"]
    kinds: dict[str, list[int]] = defaultdict(list)
    for label, kb in memory.items():
        kind = " ".join(w for w in label.split() if w not in SITES)
        kinds[kind].append(kb)
    cpu: dict[str, float] = defaultdict(float)
    for label, seconds in results["cpu_s"].items():
        cpu[" ".join(w for w in label.split() if w not in SITES)] += seconds
    print("\n  peak RSS (VmHWM), MB, max over sites; CPU s over the day, summed over sites")
    for kind, values in sorted(kinds.items()):
        used = f"{cpu[kind]:7.1f} s" if kind in cpu else "  (in its serve)" if kind.endswith("worker") else ""
        print(f"    {kind:<34} {max(values) / 1024:6.0f} MB {used}")
    print(f"    {'all (sum of peaks)':<34} {sum(memory.values()) / 1024:6.0f} MB {sum(cpu.values()):7.1f} s")
    print(f"  PostgreSQL connections at the end: {results['postgres_connections_at_end']}")
    print("\nSummary")
    for row in results["summary"]:
        ratio = f"  ({row['ratio']} x {row['baseline']})" if "ratio" in row else ""
        print(f"  {row['measure']:<56} {row['value']!s:>12} {row['unit']}{ratio}")


if __name__ == "__main__":
    sys.exit(main())
