"""Three sites and the central office on the real broker, through real processes: each site's
events reach the central office through RabbitMQ's shovel; the central figures (referrals,
matching and waits, mentors' caseloads, sessions and attendance, money) are each site's own as
its APIs tell them, and the network's their sum; the link cut while events flow loses nothing
and counts nothing twice; and nothing personal ever reaches the central exchange."""

import json
import random
import statistics
import threading
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from events.app import DEFINITION as EVENTS
from events.store.tables import participants
from matching.app import DEFINITION as MATCHING
from peerlink import central
from peerlink.broker_admin import ManagementApi
from peerlink.contracts import EVENTS_EXCHANGE
from peerlink.db import create_engine
from peerlink.tables import outbox
from peerlink.testing import (
    find_personal_data,
    free_port,
    publish_raw,
    wait_for_consumer,
    wait_for_http,
    wait_until,
)
from referrals.app import DEFINITION as REFERRALS
from reporting.app import DEFINITION as REPORTING
from reporting.store import event_log

SITES = ("ebbw-vale", "merthyr", "pontypridd")
SOURCES = ("gp", "self", "probation", "drug-alcohol-service", "family", "mental-health-team")


class Site:
    """A site's referrals, matching and events, each as its own serve and work processes."""

    def __init__(self, name, amqp_url, new_database_url, tokens, processes):
        self.name, self.amqp_url, self.tokens = name, amqp_url, tokens
        self.base: dict[str, str] = {}
        self.databases: dict[str, str] = {}
        for definition in (REFERRALS, MATCHING, EVENTS):
            database_url = new_database_url(f"{name}-{definition.name}")
            definition.migrations.upgrade(database_url)
            self.databases[definition.name] = database_url
            env = {
                "PEERLINK_SITE": name,
                "PEERLINK_DATABASE_URL": database_url,
                "PEERLINK_AMQP_URL": amqp_url,
                "PEERLINK_API_TOKENS": tokens.config(),
                "PEERLINK_PORT": str(free_port()),
            }
            processes(f"peerlink-{definition.name}", "serve", env=env)
            processes(f"peerlink-{definition.name}", "work", env=env)
            self.base[definition.name] = f"http://127.0.0.1:{env['PEERLINK_PORT']}"
        self.people: list[dict] = []
        self.counted_people: list[str] = []  # person ids of those who agreed to be counted
        self.events: list[str] = []
        self.accepted = 0  # referrals accepted here, counted or not (each is a request to match)

    def header(self) -> dict[str, str]:
        return self.tokens.header("coordinator", self.name)

    def api(self, method: str, service: str, path: str, body=None):
        headers = {**self.header(), "Idempotency-Key": str(uuid.uuid4())}
        response = httpx.request(method, self.base[service] + path, json=body, headers=headers, timeout=15)
        assert response.status_code < 300, response.text
        return response.json()

    def refer(self, n: int, rng: random.Random, *, counted: bool = True) -> dict:
        person = {
            "given_name": f"Gwen{self.name[:3].title()}{n}",
            "family_name": f"Morgan{n}",
            "date_of_birth": f"{1960 + n % 40}-0{1 + n % 9}-1{n % 9}",
            "preferred_language": rng.choice(["cy", "en"]),
            "contact": {
                "email": f"gwen.{self.name}.{n}@example.org",
                "phone": f"07700 900{n:03d}",
                "channels": ["email"],
            },
        }
        created = self.api(
            "POST",
            "referrals",
            "/referrals",
            {
                "site": self.name,
                "person": person,
                "source": rng.choice(SOURCES),
                "support_needs": rng.sample(["alcohol", "mental-health", "isolation", "housing", "trauma"], 2),
                "consent": {"share_with_mentor": True, "counted_in_figures": counted, "wording_version": "2026-01"},
            },
        )
        self.people.append(person)
        if counted:
            self.counted_people.append(created["person_id"])
        if rng.random() < 0.7:
            self.api("POST", "referrals", f"/referrals/{created['id']}/accept", {})
            self.accepted += 1
        elif rng.random() < 0.5:
            self.api("POST", "referrals", f"/referrals/{created['id']}/decline", {"reason": "other"})
        return created

    def register_mentor(self, n: int) -> None:
        contact = {"given_name": f"Mentor{n}", "email": f"mentor{n}.{self.name}@example.org", "channels": ["email"]}
        today = date.today()
        safeguarding = {  # checked, trained, supervised and stable: a mentor matching may propose
            "dbs_checked_on": (today - timedelta(days=200)).isoformat(),
            "training_completed_on": (today - timedelta(days=150)).isoformat(),
            "last_supervision_on": (today - timedelta(days=10)).isoformat(),
            "stable_since": (today - timedelta(days=3 * 365)).isoformat(),
        }
        self.api(
            "POST",
            "matching",
            "/mentors",
            {
                "kind": "volunteer",
                "contact": contact,
                "languages": ["cy", "en"],
                "capacity": 2,
                "safeguarding": safeguarding,
            },
        )
        self.people.append({"given_name": contact["given_name"], "contact": contact})

    def match_everyone_waiting(self) -> int:
        """A matching run over every accepted referral (once matching has heard of each),
        published with its matches confirmed; returns how many were matched."""
        wait_until(
            lambda: self.api("GET", "matching", "/requests?status=waiting&limit=200")["total"] == self.accepted,
            timeout=30,
            what=f"{self.name}'s matching to hear of its {self.accepted} accepted referrals",
        )
        run = self.api("POST", "matching", "/matching-runs", {"hold_back": 0})
        published = self.api("POST", "matching", f"/matching-runs/{run['id']}/publish", {"confirm": True})
        matched = len(published["proposals"])
        wait_until(
            lambda: sum(1 for r in self.referrals() if r["matched_at"]) == matched,
            timeout=30,
            what=f"{self.name}'s referrals to hear of their {matched} matches",
        )
        return matched

    def session_with_attendance(self, people: int) -> None:
        """A group session within the hour: counted participants registered, most came."""
        known = self.counted_people[:people]
        engine = create_engine(self.databases["events"], poolclass=sa.pool.NullPool)
        try:  # the events service must have heard of them first, or their places stay at the site
            wait_until(
                lambda: (
                    _count(engine, participants, participants.c.person_id.in_([uuid.UUID(p) for p in known]))
                    == len(known)
                ),
                timeout=30,
                what=f"{self.name}'s events service to hear of the people referred",
            )
        finally:
            engine.dispose()
        starts = datetime.now(UTC) + timedelta(minutes=40)
        event = self.api(
            "POST",
            "events",
            "/events",
            {
                "kind": "group-session",
                "title_cy": "Sesiwn gelf",
                "title_en": "Art session",
                "venue": "The Institute",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "capacity": 10,
            },
        )
        self.events.append(event["id"])
        for n, person in enumerate(known):
            registration = self.api("POST", "events", f"/events/{event['id']}/registrations", {"person_id": person})
            came = {"status": "attended" if n % 3 != 1 else "no-show", "registration_id": registration["id"]}
            self.api("POST", "events", f"/events/{event['id']}/attendance", came)

    def referrals(self) -> list[dict]:
        return self.api("GET", "referrals", "/referrals?limit=200")["items"]  # type: ignore[no-any-return]

    def card_sale(self, quantity: int, unit_pence: int) -> None:
        starts = datetime.now(UTC) + timedelta(hours=1)
        event = self.api(
            "POST",
            "events",
            "/events",
            {
                "kind": "card-sale",
                "title_cy": "Gwerthu cardiau",
                "title_en": "Card sale",
                "venue": "The market hall",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=3)).isoformat(),
                "public": True,
            },
        )
        sale = {"kind": "cards", "quantity": quantity, "unit_price_pence": unit_pence}
        self.api("POST", "events", f"/events/{event['id']}/sales", sale)
        self.events.append(event["id"])

    def own_figures(self) -> dict:
        """What the site itself counts through its own APIs (people not counted centrally left out)."""
        counted = [r for r in self.referrals() if r["consent"]["counted_in_figures"]]
        counted_ids = {r["id"] for r in counted}
        by_source: dict[str, int] = {}
        for referral in counted:
            by_source[referral["source"]] = by_source.get(referral["source"], 0) + 1
        mentors = self.api("GET", "matching", "/mentors")["items"]
        confirmed = [
            m
            for m in self.api("GET", "matching", "/matches?status=confirmed&limit=200")["items"]
            if m["referral_id"] in counted_ids
        ]
        caseload = Counter(m["mentor_id"] for m in confirmed)
        loads = [caseload.get(m["id"], 0) for m in mentors]
        waits = [
            (datetime.fromisoformat(r["matched_at"]) - datetime.fromisoformat(r["accepted_at"])).days
            for r in counted
            if r["matched_at"]
        ]
        registers = [self.api("GET", "events", f"/events/{e}/attendance")["summary"] for e in self.events]
        came, no_shows = sum(r["registered_heads"] for r in registers), sum(r["no_shows"] for r in registers)
        attended = sum(r["attended"] for r in registers)
        raised = sum(self.api("GET", "events", f"/events/{e}/sales")["totals"]["amount_pence"] for e in self.events)
        return {
            "referrals": {
                "received": len(counted),
                "accepted": sum(1 for r in counted if r["accepted_at"]),
                "declined": sum(1 for r in counted if r["status"] == "declined"),
                "by_source": dict(sorted(by_source.items())),
            },
            "waiting": {
                "matched": len(waits),
                "median_days_waiting": round(float(statistics.median(waits)), 1) if waits else None,
                "p90_days_waiting": float(sorted(waits)[-(-9 * len(waits) // 10) - 1]) if waits else None,
                "waiting_at_end": sum(1 for r in counted if r["accepted_at"] and not r["matched_at"]),
            },
            "matches": {"confirmed": len(confirmed), "active_at_end": len(confirmed)},
            "mentors": {
                "active": len(mentors),
                "caseload_mean": round(statistics.fmean(loads), 2) if loads else None,
                "caseload_max": max(loads) if loads else None,
            },
            "sessions": {
                "held": len(self.api("GET", "events", "/events?limit=200")["items"]),
                "attended": came,
                "no_shows": no_shows,
                "attendance_rate": round(attended / (attended + no_shows), 3) if attended + no_shows else None,
            },
            "money": {"raised_pence": raised},
        }

    def outbox_to_central(self) -> Counter:
        """(source, event id) of every event this site's services committed for the central office."""
        keys: Counter = Counter()
        for service, database_url in self.databases.items():
            engine = create_engine(database_url, poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as conn:
                    ids = conn.execute(sa.select(outbox.c.event_id).where(outbox.c.exchange == EVENTS_EXCHANGE))
                    keys.update((f"/sites/{self.name}/{service}", event_id) for (event_id,) in ids)
            finally:
                engine.dispose()
        return keys


def _count(engine, table, condition) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar_one()


class ReferralStream:
    """Referrals taken at every site in turn, over HTTP, until stopped: the traffic the link is
    cut under. Counts each site's, so that a test can wait for some to be made after a moment."""

    def __init__(self, sites: dict[str, Site], rng: random.Random):
        self.sites, self.rng = list(sites.values()), rng
        self.made: Counter = Counter()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="referral-stream", daemon=True)

    def _run(self) -> None:
        n = 200
        try:
            while not self.stopping.is_set():
                for site in self.sites:
                    site.refer(n, self.rng)
                    self.made[site.name] += 1
                n += 1
        except BaseException as exc:  # raised again in the test's thread (raise_failure)
            self.failure = exc

    def start(self) -> "ReferralStream":
        self.thread.start()
        return self

    def wait_for_more(self, each: int, what: str) -> None:
        """Until every site has taken ``each`` more referrals than now."""
        target = {site.name: self.made[site.name] + each for site in self.sites}
        wait_until(
            lambda: self.failure is not None or all(self.made[n] >= target[n] for n in target), timeout=60, what=what
        )
        self.raise_failure()

    def stop(self) -> int:
        self.stopping.set()
        self.thread.join(timeout=30)
        self.raise_failure()
        return sum(self.made.values())

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise AssertionError(f"the referral stream failed: {self.failure!r}") from self.failure


@pytest.fixture
def network(broker, new_vhost, new_database_url, postgres_url, tokens, processes, spy):
    management = ManagementApi(broker.management_url)
    central_url = new_vhost("central")
    for site in SITES:
        tokens.token("coordinator", site)
    tokens.token("central-reader", "central")
    REPORTING.migrations.upgrade(postgres_url)
    central_env = {
        "PEERLINK_SITE": "central",
        "PEERLINK_DATABASE_URL": postgres_url,
        "PEERLINK_AMQP_URL": central_url,
        "PEERLINK_API_TOKENS": tokens.config(),
        "PEERLINK_PORT": str(free_port()),
    }
    # Everything that reaches the central exchange. No heartbeat: the spy is read only now and then, and
    # the broker closes a connection that misses two (py-amqp sends them only when asked).
    arriving = spy("peerlink.events", url=f"{central_url}?heartbeat=0")
    processes("peerlink-reporting", "work", env=central_env)
    processes("peerlink-reporting", "serve", env=central_env)
    sites = {name: Site(name, new_vhost(name), new_database_url, tokens, processes) for name in SITES}
    for site in sites.values():
        central.link(site.amqp_url, central_url, site_management=management, central_management=management)
        for base in site.base.values():
            wait_for_http(f"{base}/health/live", timeout=60)
    wait_for_consumer(central_url, "reporting.inbox")
    report_base = f"http://127.0.0.1:{central_env['PEERLINK_PORT']}"
    wait_for_http(f"{report_base}/health/live")
    engine = create_engine(postgres_url)
    yield sites, management, report_base, engine, arriving, central_url
    engine.dispose()


def central_figures(report_base, tokens) -> dict:
    # Up to tomorrow: the sessions start within the hour, which may be after midnight.
    until = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    response = httpx.get(
        f"{report_base}/reports?small_numbers=show&to={until}",
        headers=tokens.header("central-reader", "central"),
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return response.json()


def logged(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(event_log)).scalar_one()


def logged_keys(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(tuple(row) for row in conn.execute(sa.select(event_log.c.source, event_log.c.event_id)))


def as_seen_centrally(place: dict, own: dict) -> dict:
    """The central office's figures for a site, in the shape of the site's own."""
    return {section: {key: place.get(section, {}).get(key) for key in figures} for section, figures in own.items()}


def assert_central_equals_the_sites(sites, report_base, tokens) -> dict:
    """Waits until the central figures are each site's own, and the network's their sum."""
    own = {name: site.own_figures() for name, site in sites.items()}

    def equal() -> bool:
        seen = central_figures(report_base, tokens)["sites"]
        return all(as_seen_centrally(seen.get(name, {}), own[name]) == own[name] for name in sites)

    try:
        wait_until(equal, timeout=60, what="the central figures to equal the sites' own")
    except AssertionError:
        seen = central_figures(report_base, tokens)["sites"]
        links = {name: central.status(site.amqp_url) for name, site in sites.items()}
        for name in sites:  # say which figures differ, not only that they do, and how the links are
            assert as_seen_centrally(seen.get(name, {}), own[name]) == own[name], f"{name}; links: {links}"
        raise
    body = central_figures(report_base, tokens)
    for name in sites:
        assert as_seen_centrally(body["sites"][name], own[name]) == own[name], name
    for section, key in (
        ("referrals", "received"),
        ("referrals", "accepted"),
        ("waiting", "matched"),
        ("waiting", "waiting_at_end"),
        ("matches", "confirmed"),
        ("matches", "active_at_end"),
        ("mentors", "active"),
        ("sessions", "held"),
        ("sessions", "attended"),
        ("sessions", "no_shows"),
        ("money", "raised_pence"),
    ):
        assert body["network"][section][key] == sum(own[name][section][key] for name in sites), (section, key)
    return body


def test_the_central_office_sees_every_site_and_a_cut_link_loses_and_doubles_nothing(network, tokens):
    sites, management, report_base, engine, arriving, central_url = network
    rng = random.Random(11)
    for number, (name, count) in enumerate(zip(SITES, (6, 9, 5), strict=True)):
        for n in range(count):
            sites[name].refer(n, rng)
        for n in range(number + 1):
            sites[name].register_mentor(n)
        sites[name].card_sale(quantity=10 + number, unit_pence=250)
    # Someone who did not agree to be counted: her referral, and her match, stay at the site.
    kept = sites["merthyr"].refer(99, rng, counted=False)
    sites["merthyr"].register_mentor(99)  # a place for everyone waiting at merthyr, her included
    matched = {name: site.match_everyone_waiting() for name, site in sites.items()}
    assert all(matched.values()), matched
    assert any(r["id"] == kept["id"] and r["matched_at"] for r in sites["merthyr"].referrals())
    for site in sites.values():
        site.session_with_attendance(people=3)
    assert_central_equals_the_sites(sites, report_base, tokens)
    before = 6 + 9 + 5

    # The link is cut while events flow: every site keeps taking referrals over HTTP meanwhile.
    stream = ReferralStream(sites, random.Random(12)).start()
    logged_before = logged(engine)
    wait_until(lambda: logged(engine) >= logged_before + 6, timeout=30, what="the stream reaching the central office")
    for site in sites.values():
        assert central.unlink(site.amqp_url, management)
    stream.wait_for_more(2, "referrals taken at every site with the link cut")
    wait_until(
        lambda: all((central.waiting_at_site(s.amqp_url) or 0) > 0 for s in sites.values()),
        what="events waiting at every site",
    )
    arrived_while_cut = len(arriving.drain())
    stream.wait_for_more(2, "more referrals taken with the link cut")
    assert len(arriving.drain()) == arrived_while_cut, "an event reached the central exchange through a cut link"
    waiting_while_cut = {n: central.waiting_at_site(s.amqp_url) for n, s in sites.items()}

    # Copies of events already delivered, sent again as a shovel that stopped between the central
    # broker's confirm and its own ack does on restart: the central office must count them once.
    resent = arriving.received[:5]
    for message in resent:
        publish_raw(
            central_url,
            EVENTS_EXCHANGE,
            message.delivery_info["routing_key"],
            [message.body],
            message_ids=[message.properties["message_id"]],
            types=[message.properties["type"]],
        )

    # The link comes back while the sites still take referrals; then the stream stops.
    for site in sites.values():
        central.link(site.amqp_url, central_url, site_management=management)
    stream.wait_for_more(2, "referrals taken after the link came back")
    streamed = stream.stop()

    # Every event each site committed for the central office is in its log, exactly once ...
    committed = sum((site.outbox_to_central() for site in sites.values()), Counter())
    wait_until(lambda: logged_keys(engine) == committed, timeout=60, what="every site's events in the central log")
    assert max(committed.values()) == 1 and len(committed) == logged(engine)
    # ... and the central figures are each site's own, their total exactly what was taken.
    body = assert_central_equals_the_sites(sites, report_base, tokens)
    assert body["network"]["referrals"]["received"] == before + streamed
    assert body["network"]["money"]["raised_pence"] == (10 + 11 + 12) * 250
    assert body["network"]["mentors"]["active"] == 1 + 3 + 3
    assert body["network"]["matches"]["confirmed"] == sum(matched.values()) - 1  # not hers

    # The central exchange saw more deliveries than there are events (the copies, and any the
    # shovel re-sent on its own): each was absorbed, counted once.
    messages = arriving.drain()
    delivered = Counter(json.loads(m.body)["id"] for m in messages)
    assert set(delivered) == {event_id for _, event_id in committed}
    assert len(messages) >= len(committed) + len(resent)
    print(
        f"link cut mid-stream: {streamed} referrals streamed ({dict(stream.made)}), "
        f"waiting at the sites while cut {waiting_while_cut}; {len(messages)} deliveries of {len(committed)} events "
        f"({sum(c - 1 for c in delivered.values())} duplicates, {len(resent)} of them sent again on purpose), "
        f"each logged once"
    )

    # Nothing personal reached the central exchange: no name, email, phone or date of birth.
    known = tuple(
        value
        for site in sites.values()
        for person in site.people
        for value in (
            person["given_name"],
            person.get("family_name"),
            person.get("date_of_birth"),
            person["contact"]["email"],
        )
        if value
    )
    for message in messages:
        text = message.body if isinstance(message.body, str) else message.body.decode()
        assert find_personal_data(text, known=known) == [], text
        assert json.loads(text)["site"] in SITES
        # Nor anything about the person not counted: no referral event, no match event names her.
        assert kept["person_id"] not in text and kept["id"] not in text, text
