"""Three sites and the central office on the real broker, through real processes: each site's
events reach the central office through RabbitMQ's shovel, the central figures are the sum of
the sites' own, a cut link loses nothing and counts nothing twice, and nothing personal ever
reaches the central exchange."""

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from events.app import DEFINITION as EVENTS
from matching.app import DEFINITION as MATCHING
from peerlink import central
from peerlink.broker_admin import ManagementApi
from peerlink.db import create_engine
from peerlink.testing import find_personal_data, free_port, wait_for_consumer, wait_for_http, wait_until
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
        for definition in (REFERRALS, MATCHING, EVENTS):
            database_url = new_database_url(f"{name}-{definition.name}")
            definition.migrations.upgrade(database_url)
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
        self.events: list[str] = []

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
        if rng.random() < 0.7:
            self.api("POST", "referrals", f"/referrals/{created['id']}/accept", {})
        elif rng.random() < 0.5:
            self.api("POST", "referrals", f"/referrals/{created['id']}/decline", {"reason": "other"})
        return created

    def register_mentor(self, n: int) -> None:
        contact = {"given_name": f"Mentor{n}", "email": f"mentor{n}.{self.name}@example.org", "channels": ["email"]}
        self.api(
            "POST",
            "matching",
            "/mentors",
            {"kind": "volunteer", "contact": contact, "languages": ["en"], "capacity": 2},
        )
        self.people.append({"given_name": contact["given_name"], "contact": contact})

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
        listed = self.api("GET", "referrals", "/referrals?limit=200")["items"]
        counted = [r for r in listed if r["consent"]["counted_in_figures"]]
        by_source: dict[str, int] = {}
        for referral in counted:
            by_source[referral["source"]] = by_source.get(referral["source"], 0) + 1
        mentors = self.api("GET", "matching", "/mentors")
        raised = sum(self.api("GET", "events", f"/events/{e}/sales")["totals"]["amount_pence"] for e in self.events)
        return {
            "referrals": {
                "received": len(counted),
                "accepted": sum(1 for r in counted if r["accepted_at"]),
                "declined": sum(1 for r in counted if r["status"] == "declined"),
                "by_source": dict(sorted(by_source.items())),
            },
            "mentors": {"active": len(mentors["items"] if isinstance(mentors, dict) else mentors)},
            "money": {"raised_pence": raised},
        }


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
    arriving = spy("peerlink.events", url=central_url)  # everything that reaches the central exchange
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
    response = httpx.get(
        f"{report_base}/reports?small_numbers=show", headers=tokens.header("central-reader", "central")
    )
    assert response.status_code == 200, response.text
    return response.json()


def logged(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(event_log)).scalar_one()


def as_seen_centrally(place: dict, own: dict) -> dict:
    """The central office's figures for a site, in the shape of the site's own."""
    return {section: {key: place.get(section, {}).get(key) for key in figures} for section, figures in own.items()}


def assert_central_equals_the_sites(sites, report_base, tokens) -> dict:
    """Waits until the central figures are each site's own, and the network's their sum."""
    own = {name: site.own_figures() for name, site in sites.items()}

    def equal() -> bool:
        seen = central_figures(report_base, tokens)["sites"]
        return all(as_seen_centrally(seen.get(name, {}), own[name]) == own[name] for name in sites)

    wait_until(equal, timeout=60, what="the central figures to equal the sites' own")
    body = central_figures(report_base, tokens)
    for name in sites:
        assert as_seen_centrally(body["sites"][name], own[name]) == own[name], name
    for section, key in (
        ("referrals", "received"),
        ("referrals", "accepted"),
        ("mentors", "active"),
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
    sites["merthyr"].refer(99, rng, counted=False)  # stays at the site
    assert_central_equals_the_sites(sites, report_base, tokens)
    before = logged(engine)

    # The link is cut: every site keeps taking referrals and selling cards; their events wait there.
    for site in sites.values():
        assert central.unlink(site.amqp_url, management)
    for name, count in zip(SITES, (4, 3, 7), strict=True):
        for n in range(100, 100 + count):
            sites[name].refer(n, rng)
        sites[name].card_sale(quantity=3, unit_pence=500)
    wait_until(
        lambda: sum(central.waiting_at_site(s.amqp_url) or 0 for s in sites.values()) >= 14 + 3 * 2,
        what="the sites' events waiting for the link",
    )
    assert logged(engine) == before

    # The link comes back: every waiting event arrives, each counted once.
    for site in sites.values():
        central.link(site.amqp_url, central_url, site_management=management)
    body = assert_central_equals_the_sites(sites, report_base, tokens)
    assert body["network"]["referrals"]["received"] == 6 + 9 + 5 + 4 + 3 + 7
    assert body["network"]["money"]["raised_pence"] == (10 + 11 + 12) * 250 + 3 * 3 * 500
    assert body["network"]["mentors"]["active"] == 1 + 2 + 3
    with engine.connect() as conn:
        keys = conn.execute(sa.select(event_log.c.source, event_log.c.event_id)).all()
    assert len(keys) == len(set(keys))

    # Nothing personal reached the central exchange: no name, email, phone or date of birth.
    messages = arriving.drain()
    # A shovel removed mid-flight may resend a message (at least once); the log counted it once.
    assert len({json.loads(m.body)["id"] for m in messages}) == logged(engine) <= len(messages)
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
