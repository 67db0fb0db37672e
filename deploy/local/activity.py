"""A site's life, for ``make run``: everything through the services' own APIs, as a team would.

Each site is seeded with mentors, a month's referrals and their triage, a matching run published
and confirmed, mentoring started; an art group with a weekly series, today's session with its
registrations and register, an auction and card sales. Then a gentle stream goes on (a new
referral, a run, a registration, a sale) every few seconds, so the central office's dashboard
moves. Names are invented and clearly fictional; nothing here is anyone's data.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

GIVEN = [
    "Rhian",
    "Gethin",
    "Siân",
    "Dafydd",
    "Ffion",
    "Owain",
    "Catrin",
    "Rhys",
    "Eleri",
    "Aled",
    "Nia",
    "Huw",
    "Megan",
    "Ioan",
    "Lowri",
    "Tomos",
    "Carys",
    "Emyr",
    "Bethan",
    "Iwan",
    "Sam",
    "Alex",
    "Jo",
    "Chris",
]
FAMILY = [
    "Jones",
    "Williams",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Hughes",
    "Lewis",
    "Morgan",
    "Griffiths",
    "Price",
    "Pritchard",
    "Howells",
    "Bevan",
    "Powell",
    "Watkins",
]
SOURCES = ["self", "gp", "drug-alcohol-service", "probation", "mental-health-team", "family", "housing", "other-agency"]
NEEDS = [
    "substance-use",
    "alcohol",
    "mental-health",
    "trauma",
    "health-condition",
    "isolation",
    "housing",
    "employment",
]
INTERESTS = ["art", "music", "writing", "outdoors", "walking", "gardening", "crafts", "cooking"]
SLOTS = [f"{d}-{p}" for d in ("mon", "tue", "wed", "thu", "fri", "sat") for p in ("am", "pm")]
STREAM_EVERY = (6.0, 15.0)  # seconds between two actions of the ongoing stream


class Site:
    def __init__(self, name: str, tokens: dict[str, str], run: Any, rng: random.Random):
        self.name = name
        self.rng = rng
        self.coordinator = {"Authorization": f"Bearer {tokens['coordinator']}"}
        self.facilitator = {"Authorization": f"Bearer {tokens['facilitator']}"}
        self.urls = {service: run.base(service) for service in ("referrals", "matching", "events", "notifications")}
        self.client = httpx.Client(timeout=20)
        self.people: list[str] = []
        self.group: str | None = None
        self.counter = 0

    # HTTP ---------------------------------------------------------------------------------------

    def call(self, method: str, service: str, path: str, *, body: Any = None, facilitator: bool = False) -> Any:
        headers = {**(self.facilitator if facilitator else self.coordinator), "Idempotency-Key": str(uuid.uuid4())}
        response = self.client.request(method, self.urls[service] + path, json=body, headers=headers)
        if response.status_code >= 400:
            raise RuntimeError(f"{self.name} {method} {service}{path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def wait_until_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        for service, base in self.urls.items():
            while True:
                try:
                    if self.client.get(f"{base}/health/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} {service} is not ready after {timeout:.0f} s")
                time.sleep(1)

    # Referrals ----------------------------------------------------------------------------------

    def refer(self, *, counted: bool = True, accept: float = 0.8) -> dict[str, Any]:
        rng, self.counter = self.rng, self.counter + 1
        language = rng.choice(["cy", "en", "en"])
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = date(rng.randint(1958, 2007), rng.randint(1, 12), rng.randint(1, 28))
        body = {
            "site": self.name,
            "person": {
                "given_name": given,
                "family_name": f"{family}-{self.counter}",
                "date_of_birth": born.isoformat(),
                "preferred_language": language,
                "contact": {
                    "email": f"{given.lower().replace('â', 'a')}.{self.counter}@{self.name}.example.org",
                    "phone": None,
                    "channels": ["email"],
                    "safe_to_text": False,
                },
            },
            "source": rng.choice(SOURCES),
            "support_needs": rng.sample(NEEDS, rng.randint(1, 3)),
            "interests": rng.sample(INTERESTS, rng.randint(1, 3)),
            "availability": rng.sample(SLOTS, rng.randint(2, 5)),
            "preferences": {"mentor_gender": "no-preference", "welsh_speaking_mentor": language == "cy"},
            "consent": {"share_with_mentor": True, "counted_in_figures": counted, "wording_version": "2026-01"},
        }
        referral = self.call("POST", "referrals", "/referrals", body=body)
        self.people.append(referral["person_id"])
        roll = rng.random()
        if roll < accept:
            self.call("POST", "referrals", f"/referrals/{referral['id']}/accept", body={"priority": rng.random() < 0.1})
        elif roll < accept + 0.1:
            self.call(
                "POST", "referrals", f"/referrals/{referral['id']}/decline", body={"reason": "needs-another-service"}
            )
        return referral  # type: ignore[no-any-return]

    # Matching -----------------------------------------------------------------------------------

    def mentor(self, *, former_participant: bool = False) -> dict[str, Any]:
        rng, today = self.rng, date.today()
        given = rng.choice(GIVEN)
        lived = rng.sample(NEEDS, rng.randint(1, 3))
        body = {
            "kind": rng.choice(["volunteer", "volunteer", "paid"]),
            "contact": {
                "given_name": given,
                "family_name": rng.choice(FAMILY),
                "email": f"mentor.{given.lower().replace('â', 'a')}.{uuid.uuid4().hex[:6]}@{self.name}.example.org",
                "preferred_language": rng.choice(["cy", "en"]),
                "channels": ["email"],
            },
            "languages": ["cy", "en"] if rng.random() < 0.4 else ["en"],
            "lived_experience": lived,
            "interests": rng.sample(INTERESTS, 3),
            "availability": rng.sample(SLOTS, 6),
            "capacity": rng.randint(1, 4),
            "safeguarding": {
                "dbs_checked_on": (today - timedelta(days=200)).isoformat(),
                "training_completed_on": (today - timedelta(days=150)).isoformat(),
                "last_supervision_on": (today - timedelta(days=10)).isoformat(),
                "stable_since": (today - timedelta(days=3 * 365)).isoformat(),
            },
            "person_id": str(uuid.uuid4()) if former_participant else None,
        }
        return self.call("POST", "matching", "/mentors", body=body)  # type: ignore[no-any-return]

    def matching_run(self) -> int:
        waiting = self.call("GET", "matching", "/requests?status=waiting")
        if not (waiting.get("items") if isinstance(waiting, dict) else waiting):
            return 0
        run = self.call("POST", "matching", "/matching-runs", body={"hold_back": 1})
        published = self.call("POST", "matching", f"/matching-runs/{run['id']}/publish", body={"confirm": True})
        return len(published.get("proposals", [])) if isinstance(published, dict) else 0

    def start_mentoring(self) -> None:
        matched = self.call("GET", "referrals", "/referrals?status=matched&limit=50")["items"]
        for referral in matched:
            if self.rng.random() < 0.6:
                self.call("POST", "referrals", f"/referrals/{referral['id']}/start", body={})

    # Events -------------------------------------------------------------------------------------

    def art_group(self) -> str:
        group = self.call(
            "POST",
            "events",
            "/groups",
            body={
                "name_cy": f"Grŵp celf {self.name.replace('-', ' ').title()}",
                "name_en": f"{self.name.replace('-', ' ').title()} art group",
                "usual_venue": "The Institute, main hall",
                "accessibility_en": "Step-free entrance; accessible toilet; quiet room available.",
                "accessibility_cy": "Mynediad heb risiau; toiled hygyrch; ystafell dawel ar gael.",
            },
            facilitator=True,
        )
        next_week = (datetime.now(UTC) + timedelta(days=7)).date()
        self.call(
            "POST",
            "events",
            "/series",
            body={
                "group_id": group["id"],
                "title_cy": "Sesiwn gelf wythnosol",
                "title_en": "Weekly art session",
                "rrule": "FREQ=WEEKLY",
                "first_starts_at": f"{next_week.isoformat()}T10:00",
                "duration_minutes": 120,
                "capacity": 14,
            },
            facilitator=True,
        )
        return group["id"]  # type: ignore[no-any-return]

    def session_today(self, group_id: str) -> None:
        """A session starting within the hour: its registrations, then its register."""
        starts = datetime.now(UTC) + timedelta(minutes=40)
        event = self.call(
            "POST",
            "events",
            "/events",
            body={
                "group_id": group_id,
                "kind": "group-session",
                "title_cy": "Sesiwn gelf",
                "title_en": "Art session",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "capacity": 10,
            },
            facilitator=True,
        )
        registered = []
        for person in self.rng.sample(self.people, min(8, len(self.people))):
            registration = self.call(
                "POST", "events", f"/events/{event['id']}/registrations", body={"person_id": person}, facilitator=True
            )
            registered.append(registration)
        for registration in registered:
            if registration.get("status") == "confirmed":
                status = "attended" if self.rng.random() < 0.8 else "no-show"
                self.call(
                    "POST",
                    "events",
                    f"/events/{event['id']}/attendance",
                    body={"status": status, "registration_id": registration["id"]},
                    facilitator=True,
                )

    def auction_and_cards(self, group_id: str) -> None:
        starts = datetime.now(UTC) + timedelta(minutes=50)
        event = self.call(
            "POST",
            "events",
            "/events",
            body={
                "group_id": group_id,
                "kind": "auction",
                "title_cy": "Arwerthiant celf",
                "title_en": "Art auction",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "public": True,
            },
            facilitator=True,
        )
        for n in range(3):
            artwork = self.call(
                "POST",
                "events",
                "/artworks",
                body={
                    "group_id": group_id,
                    "credit": self.rng.choice(["pseudonym", "anonymous"]),
                    "pseudonym": f"Artist {n + 1}",
                    "title": self.rng.choice(["Valley light", "Pit wheel", "Blorenge in snow", "Taff at dusk"]),
                    "artist_share_percent": 50,
                    "print_run": 100,
                },
                facilitator=True,
            )
            lot = self.call(
                "POST",
                "events",
                f"/events/{event['id']}/lots",
                body={"artwork_id": artwork["id"], "reserve_pence": 3000, "opening_pence": 2000},
                facilitator=True,
            )
            amount = 2000
            for paddle in self.rng.sample(["12", "7", "31", "B-4"], 3):
                amount += self.rng.choice([500, 1000, 2500])
                self.call(
                    "POST",
                    "events",
                    f"/events/{event['id']}/lots/{lot['id']}/bids",
                    body={"amount_pence": amount, "paddle": paddle},
                    facilitator=True,
                )
            self.call("POST", "events", f"/events/{event['id']}/lots/{lot['id']}/close", body={}, facilitator=True)
            self.call(
                "POST",
                "events",
                f"/events/{event['id']}/sales",
                body={
                    "kind": "cards",
                    "artwork_id": artwork["id"],
                    "quantity": self.rng.randint(5, 20),
                    "unit_price_pence": 250,
                },
                facilitator=True,
            )

    # The life of a site -------------------------------------------------------------------------

    def seed(self) -> None:
        for n in range(8):
            self.mentor(former_participant=n % 3 == 0)
        for n in range(24):
            self.refer(counted=n % 12 != 5)
        time.sleep(3)  # matching hears of the accepted referrals through the broker
        self.matching_run()
        time.sleep(2)
        self.start_mentoring()
        self.group = self.art_group()
        self.session_today(self.group)
        self.auction_and_cards(self.group)

    def one_more_thing(self) -> str:
        roll = self.rng.random()
        if roll < 0.5:
            self.refer()
            return "a referral"
        if roll < 0.7:
            proposed = self.matching_run()
            if proposed == 0 and self.rng.random() < 0.5:
                self.mentor(former_participant=self.rng.random() < 0.3)
                return "a matching run found no free place: a new mentor joined"
            return f"a matching run ({proposed} proposed)"
        if roll < 0.8:
            self.start_mentoring()
            return "mentoring started"
        if roll < 0.9 and self.group:
            self.session_today(self.group)
            return "a session"
        if self.group:
            self.auction_and_cards(self.group)
            return "an auction"
        return "nothing"


def run(site_names: list[str], tokens: dict[str, dict[str, str]], runs: dict[str, Any]) -> int:
    rng = random.Random()
    sites = [Site(name, tokens[name], runs[name], random.Random(rng.random())) for name in site_names]
    for site in sites:
        site.wait_until_ready()
    for site in sites:
        try:
            site.seed()
            print(f"activity: {site.name} seeded ({len(site.people)} people referred)", flush=True)
        except (RuntimeError, httpx.HTTPError) as exc:
            print(f"activity: {site.name} could not be seeded: {exc}", file=sys.stderr, flush=True)
    while True:
        time.sleep(rng.uniform(*STREAM_EVERY))
        site = rng.choice(sites)
        try:
            print(f"activity: {site.name}: {site.one_more_thing()}", flush=True)
        except (RuntimeError, httpx.HTTPError) as exc:
            print(f"activity: {site.name}: {exc}", file=sys.stderr, flush=True)
