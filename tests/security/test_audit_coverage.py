"""Every read and every change of someone's record leaves an entry in the audit trail.

``AUDITED`` below is the whole list, per service, of the operations that read or change a
person's (referrals), a mentor's (matching), a public guest's or an artist's consent to their
credit (events) or a recipient's (notifications) record, each with the entry it must leave:
whose record (the subject's kind and id) and what was done (read, change, erase). The test
builds each real app on a migrated database, makes the records each operation needs, calls it
once as a coordinator whose token is labelled, and finds the new entry: that subject, that
action, the token's label as the actor, and the route the request took.

The list is not written from memory: ``test_the_table_lists_every_operation_on_someones_record``
finds the operations from the services themselves (every route under ``/people/{…}``,
``/mentors/{…}``, ``/guests/{…}`` and ``/referrals/{…}``, and every operation whose documented
request or answer carries someone's details: a name, an artist's name, an email, a phone
number, a date of birth, a risk note, a guest), and fails on one that is in neither ``AUDITED`` nor
``NOT_A_RECORD`` (a handful that only look like one, each with why).

An operation a service should audit and does not yet is a row with ``gap=`` the reason: it is
expected to fail (``xfail(strict=True)``), so the day the service records it, the test fails
until the gap is taken out of the table.
"""

from __future__ import annotations

import importlib
import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from peerlink.audit import ERASE, PUBLIC_ACTOR
from peerlink.contracts import CONTACT_RECORDED, MATCH_CONFIRMED, REFERRAL_ACCEPTED, REFERRAL_RECEIVED
from peerlink.outbox import Producer, UnitOfWork
from peerlink.testing import make_envelope, sample_data, settings_for
from peerlink.testing.conformance import openapi_path
from peerlink.testing.stateful import deliver
from peerlink.web.auth import new_token, token_entry

READ, CHANGE = "read", "change"
SITE = "ebbw-vale"
LABEL = "coordinator-sian"  # the coordinator's token's label: the actor every entry must name
SERVICES = ("referrals", "matching", "events", "notifications")
SUBJECT_KIND = {"referrals": "person", "matching": "mentor", "events": "guest", "notifications": "recipient"}


@dataclass(frozen=True)
class Audited:
    """One operation on someone's record and the entry it must leave.

    ``arrange`` names the method of the service's ``World`` that makes the records the call
    needs; it returns the path's ids and ``subject`` (whose record), or the call makes the record
    and ``made`` names the field of its answer that says whose. ``body`` is the JSON sent (a
    function of those ids when it needs one)."""

    operation: str
    action: str
    arrange: str
    body: Any = None
    made: str = ""  # the field of the answer naming whose record the call made
    kind: str = ""  # whose record, when not the service's usual (SUBJECT_KIND)
    gap: str = ""
    public: bool = False  # called by the person themselves, through a public page

    @property
    def method(self) -> str:
        return self.operation.split(" ", 1)[0]

    @property
    def template(self) -> str:
        return self.operation.split(" ", 1)[1]


A = Audited
CHECK_IN = {"timepoint": "baseline", "answers": {"coping": 3, "connected": 3, "hopeful": 3, "health": 3}}

# fmt: off
AUDITED: dict[str, list[Audited]] = {
    "referrals": [
        A("POST /referrals", CHANGE, "nothing", body=lambda ids: ids["referral_body"], made="person_id"),
        A("POST /self-referral", CHANGE, "nothing", public=True),
        A("GET /referrals", READ, "referral"),
        A("GET /waiting-list", READ, "accepted"),
        A("GET /referrals/{referral_id}", READ, "referral"),
        A("GET /referrals/{referral_id}/transitions", READ, "referral"),
        A("POST /referrals/{referral_id}/accept", CHANGE, "referral", body={}),
        A("POST /referrals/{referral_id}/decline", CHANGE, "referral", body={"reason": "needs-another-service"}),
        A("POST /referrals/{referral_id}/withdraw", CHANGE, "referral", body={"reason": "by-person"}),
        A("POST /referrals/{referral_id}/start", CHANGE, "matched", body={}),
        A("POST /referrals/{referral_id}/close", CHANGE, "active", body={"outcome": "completed"}),
        A("POST /referrals/{referral_id}/reopen", CHANGE, "closed", body={}),
        A("GET /referrals/{referral_id}/check-ins", READ, "accepted"),
        A("POST /referrals/{referral_id}/check-ins", CHANGE, "accepted", body=CHECK_IN),
        A("GET /referrals/{referral_id}/duplicate-check", READ, "possible_duplicate"),
        A("POST /referrals/{referral_id}/duplicate-check/resolve", CHANGE, "possible_duplicate",
          body={"decision": "same-person", "apply_contact_details": False}),
        A("GET /people/{person_id}", READ, "referral"),
        A("DELETE /people/{person_id}", ERASE, "referral"),
        A("GET /people/{person_id}/audit", READ, "referral"),
        A("GET /people/{person_id}/advocacy-issues", READ, "referral"),
        A("POST /people/{person_id}/advocacy-issues", CHANGE, "referral",
          body={"category": "debt", "summary": "A letter from the council."}),
        A("POST /people/{person_id}/advocacy-issues/{issue_id}/resolve", CHANGE, "advocacy_issue",
          body={"resolution": "resolved"}),
    ],
    "matching": [
        A("POST /mentors", CHANGE, "nothing", body=lambda ids: ids["mentor_body"], made="id"),
        A("GET /mentors", READ, "mentor"),
        A("GET /mentors/caseloads", READ, "mentor"),
        A("GET /mentors/{mentor_id}", READ, "mentor"),
        A("PATCH /mentors/{mentor_id}", CHANGE, "mentor", body={"capacity": 3}),
        A("POST /mentors/{mentor_id}/pause", CHANGE, "mentor", body={"reason": "health"}),
        A("POST /mentors/{mentor_id}/resume", CHANGE, "paused_mentor", body={}),
        A("POST /mentors/{mentor_id}/leave", CHANGE, "mentor", body={"reason": "moved-on"}),
        A("GET /mentors/{mentor_id}/caseload", READ, "mentor"),
        A("GET /mentors/{mentor_id}/do-not-match", READ, "mentor"),
        A("POST /mentors/{mentor_id}/do-not-match", CHANGE, "mentor",
          body=lambda ids: {"person_id": ids["person_id"], "reason": "shared-network"}),
        A("DELETE /mentors/{mentor_id}/do-not-match/{person_id}", CHANGE, "mentor_conflict"),
        A("GET /mentors/{mentor_id}/audit", READ, "mentor"),
        A("GET /requests/{request_id}/suggestions", READ, "request_and_mentor"),
    ],
    "events": [
        A("POST /events/{event_id}/registrations", CHANGE, "public_event", made="guest_id",
          body={"guest": {"given_name": "Sioned", "family_name": "Pritchard", "email": "sioned@example.org"}}),
        A("GET /events/{event_id}/registrations", READ, "registered_guest"),
        A("GET /events/{event_id}/registrations/{registration_id}", READ, "registered_guest"),
        A("POST /events/{event_id}/registrations/{registration_id}/cancel", CHANGE, "registered_guest", body={}),
        A("GET /events/{event_id}/attendance", READ, "registered_guest"),
        A("POST /events/{event_id}/attendance", CHANGE, "registered_guest_soon",
          body=lambda ids: {"status": "attended", "registration_id": ids["registration_id"]}),
        A("GET /guests/{guest_id}", READ, "registered_guest"),
        A("POST /guests/{guest_id}/erase", ERASE, "registered_guest", body={}),
        A("GET /guests/{guest_id}/audit", READ, "registered_guest"),
        # An artist's consent to how their work is credited (by name only with it).
        A("POST /artworks", CHANGE, "artwork_body", body=lambda ids: ids["artwork_body"], made="id", kind="artwork"),
        A("POST /artworks/{artwork_id}/credit", CHANGE, "artwork", body={"credit": "anonymous"}, kind="artwork"),
        A("GET /artworks/{artwork_id}/audit", READ, "artwork", kind="artwork"),
    ],
    "notifications": [
        A("GET /people/{recipient_id}/preferences", READ, "recipient"),
        A("PUT /people/{recipient_id}/preferences", CHANGE, "recipient", body={"channels": ["email"]}),
        A("GET /people/{recipient_id}/audit", READ, "recipient"),
        A("GET /coordinators", READ, "coordinator"),
        A("PUT /coordinators/{coordinator_id}", CHANGE, "nothing",
          body={"given_name": "Siân", "email": "sian@example.org", "preferred_language": "cy"}),
        A("DELETE /coordinators/{coordinator_id}", ERASE, "coordinator"),
        A("GET /deliveries/{delivery_id}", READ, "delivery"),  # what was written to them
    ],
}
# fmt: on

# Operations that the rule below takes for ones on someone's record, and why they are not.
NOT_A_RECORD: dict[str, dict[str, str]] = {
    "referrals": {},
    "matching": {},
    "events": {
        "GET /artworks": "the credit as the artist agreed to show it wherever the work is shown (a name only with "
        "their consent): events records changes of that consent, not its display",
        "GET /artworks/{artwork_id}": "as GET /artworks",
    },
    "notifications": {
        "POST /templates/{kind}/preview": "a template shown with made-up values (the given name sent is the example's)",
    },
}

# Whose record a route names, by its path; and what in a document says a body holds someone's details.
RECORD_PATH = re.compile(r"^/(people|mentors|guests|referrals)/\{")
PERSONAL_FIELDS = {"given_name", "family_name", "email", "phone", "date_of_birth", "contact", "guest", "risk_note"}
PERSONAL_FIELDS |= {"artist_name"}


# --- the services and their records ----------------------------------------------------------------


class World:
    """One service's app on a fresh SQLite database, and the records its operations need: each
    ``arrange`` method makes new ones (no call shares a record with another) and returns the
    ids in the operation's path, and ``subject``: whose record the entry must name."""

    service = ""
    counter = itertools.count(1)

    def __init__(self, root: Path, tokens_config: str, header: dict[str, str]):
        definition = importlib.import_module(f"{self.service}.app").DEFINITION
        url = f"sqlite:///{root / self.service}.db"
        definition.migrations.upgrade(url)
        self.app: Flask = definition.create_app(settings_for(self.service, database_url=url, tokens=tokens_config))
        self.engine: sa.Engine = self.app.extensions["peerlink"].engine
        self.client = self.app.test_client()
        self.header = header
        self.trail: sa.Table = importlib.import_module(f"{self.service}.api.audit").TRAIL.table

    def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        headers = {**self.header, "Idempotency-Key": str(uuid.uuid4())}
        response = self.client.open(path, method=method, json=body, headers=headers)
        assert response.status_code in expect, f"{method} {path}: {response.status_code} {response.get_json()}"
        return response.get_json(silent=True)

    def nothing(self) -> dict[str, Any]:
        return {}

    def n(self) -> int:
        return next(self.counter)

    def close(self) -> None:
        self.engine.dispose()


class Referrals(World):
    service = "referrals"

    def body(self, n: int | None = None) -> dict[str, Any]:
        n = self.n() if n is None else n
        return {
            "site": SITE,
            "person": {
                "given_name": f"Rhian{n}",
                "family_name": "Pritchard",
                "date_of_birth": (date(1960, 1, 1) + timedelta(days=n)).isoformat(),
                "preferred_language": "cy",
                "contact": {"email": f"rhian{n}@example.org", "channels": ["email"]},
            },
            "source": "gp",
            "support_needs": ["alcohol"],
            "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
        }

    def nothing(self) -> dict[str, Any]:
        return {"referral_body": self.body()}

    def referral(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        made = self.call("POST", "/referrals", body or self.body())
        return {"referral_id": made["id"], "person_id": made["person_id"], "subject": made["person_id"]}

    def accepted(self) -> dict[str, Any]:
        ids = self.referral()
        self.call("POST", f"/referrals/{ids['referral_id']}/accept", {})
        return ids

    def matched(self) -> dict[str, Any]:
        ids = self.accepted()
        match = uuid.uuid4()
        data = {
            "match_id": match,
            "referral_id": uuid.UUID(ids["referral_id"]),
            "person_id": uuid.UUID(ids["person_id"]),
            "mentor_id": uuid.uuid4(),
            "confirmed_at": datetime.now(UTC),
        }
        handlers = importlib.import_module("referrals.handlers").subscriptions
        envelope = make_envelope(MATCH_CONFIRMED, data, service="matching", subject=str(match))
        assert deliver(self.engine, handlers, Producer(SITE, "referrals"), [envelope]).failures == []
        return ids

    def active(self) -> dict[str, Any]:
        ids = self.matched()
        self.call("POST", f"/referrals/{ids['referral_id']}/start", {})
        return ids

    def closed(self) -> dict[str, Any]:
        ids = self.active()
        self.call("POST", f"/referrals/{ids['referral_id']}/close", {"outcome": "completed"})
        return ids

    def advocacy_issue(self) -> dict[str, Any]:
        ids = self.referral()
        body = {"category": "debt", "summary": "A letter from the council."}
        issue = self.call("POST", f"/people/{ids['person_id']}/advocacy-issues", body)
        return {**ids, "issue_id": issue["id"]}

    def possible_duplicate(self) -> dict[str, Any]:
        """A second referral with someone's name and date of birth: linked to them, to be checked."""
        n = self.n()
        first = self.referral(self.body(n))
        again = self.body(n)
        again["person"]["contact"] = {"email": f"rhian{n}.new@example.org", "channels": ["email"]}
        second = self.referral(again)
        return {"referral_id": second["referral_id"], "subject": first["person_id"]}

    def self_refer(self) -> str:
        """The public form, as a person fills it in; returns the id of the person it made."""
        page = self.client.get("/self-referral?lang=en")
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', unescape(page.get_data(True))))
        n = self.n()
        answers = {
            "given_name": f"Siân{n}",
            "family_name": "Prosser",
            "dob_day": "14",
            "dob_month": "7",
            "dob_year": str(1950 + n % 40),
            "preferred_language": "cy",
            "email": f"sian{n}@example.org",
            "channels": ["email"],
            "support_needs": ["isolation"],
            "interests": ["art"],
            "availability": ["wed-pm"],
            "mentor_gender": "female",
            "welsh_speaking_mentor": "yes",
            "share_with_mentor": "yes",
            "counted_in_figures": "yes",
        }
        sent = self.client.post("/self-referral", data={**hidden, **answers}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert sent.status_code == 303, sent.get_data(True)[:500]
        people = importlib.import_module("referrals.store").people
        with self.engine.connect() as conn:
            return str(conn.execute(sa.select(people.c.id).where(people.c.given_name == f"Siân{n}")).scalar_one())


class Matching(World):
    service = "matching"

    def mentor_body(self) -> dict[str, Any]:
        n = self.n()
        return {
            "kind": "volunteer",
            "contact": {
                "given_name": f"Gareth{n}",
                "family_name": "Llewellyn",
                "email": f"gareth{n}@example.org",
                "preferred_language": "cy",
                "channels": ["email"],
                "safe_to_text": False,
            },
            "gender": "male",
            "languages": ["cy", "en"],
            "lived_experience": ["alcohol"],
            "skills": ["housing"],
            "interests": ["art"],
            "availability": ["tue-pm"],
            "capacity": 2,
            "safeguarding": {
                "dbs_checked_on": (date.today() - timedelta(days=30)).isoformat(),
                "training_completed_on": (date.today() - timedelta(days=20)).isoformat(),
                "last_supervision_on": (date.today() - timedelta(days=10)).isoformat(),
                "stable_since": "2020-01-01",
            },
        }

    def nothing(self) -> dict[str, Any]:
        return {"mentor_body": self.mentor_body()}

    def mentor(self) -> dict[str, Any]:
        made = self.call("POST", "/mentors", self.mentor_body())
        return {"mentor_id": made["id"], "subject": made["id"], "person_id": str(uuid.uuid4())}

    def paused_mentor(self) -> dict[str, Any]:
        ids = self.mentor()
        self.call("POST", f"/mentors/{ids['mentor_id']}/pause", {"reason": "health"})
        return ids

    def mentor_conflict(self) -> dict[str, Any]:
        ids = self.mentor()
        self.call(
            "POST", f"/mentors/{ids['mentor_id']}/do-not-match", {"person_id": ids["person_id"], "reason": "other"}
        )
        return ids

    def request_and_mentor(self) -> dict[str, Any]:
        # The request's best fit (the one mentor sharing its interest), so the mentor is among the
        # suggestions shown (10 by default) however many equal mentors the rows before it made.
        ids = self.mentor()
        self.call("PATCH", f"/mentors/{ids['mentor_id']}", {"interests": ["music"]})
        data = sample_data(
            REFERRAL_ACCEPTED,
            support_needs=["alcohol"],
            interests=["music"],
            availability=["tue-pm"],
            preferred_language="en",
            priority=False,
            preferences={"mentor_gender": "no-preference", "welsh_speaking_mentor": False},
        )
        commands = importlib.import_module("matching.commands")
        with UnitOfWork(self.engine, Producer(SITE, "matching")) as uow:
            request = commands.referral_accepted(uow, data, site=SITE)
            uow.commit()
        return {**ids, "request_id": str(request.id)}


class Events(World):
    service = "events"

    def public_event(self, starts: datetime | None = None) -> dict[str, Any]:
        group = self.call(
            "POST", "/groups", {"name_cy": "Grŵp celf", "name_en": "Art group", "usual_venue": "Institute"}
        )
        # An instant with its offset: a wall time would be read in Europe/London (an hour off in summer).
        starts = starts or datetime.now(UTC) + timedelta(days=30)
        event = self.call(
            "POST",
            "/events",
            {
                "group_id": group["id"],
                "kind": "group-session",
                "title_cy": "Sesiwn gelf",
                "title_en": "Art session",
                "starts_at": starts.replace(microsecond=0).isoformat(),
                "ends_at": (starts + timedelta(hours=2)).replace(microsecond=0).isoformat(),
                "capacity": 10,
                "public": True,
            },
        )
        return {"event_id": event["id"]}

    def registered_guest(self, starts: datetime | None = None) -> dict[str, Any]:
        ids = self.public_event(starts)
        n = self.n()
        guest = {"given_name": f"Sioned{n}", "family_name": "Pritchard", "email": f"sioned{n}@example.org"}
        made = self.call("POST", f"/events/{ids['event_id']}/registrations", {"guest": guest})
        return {**ids, "registration_id": made["id"], "guest_id": made["guest_id"], "subject": made["guest_id"]}

    def artwork_body(self) -> dict[str, Any]:
        group = {"name_cy": "Grŵp celf", "name_en": "Art group", "usual_venue": "Institute"}
        group = self.call("POST", "/groups", group)
        body = {
            "group_id": group["id"],
            "artist_person_id": str(uuid.uuid4()),
            "credit": "name",
            "artist_name": "Joe Bloggs",
            "title": f"Sunrise {self.n()}",
            "medium": "Acrylic",
            "artist_share_percent": 50,
        }
        return {"artwork_body": body}

    def artwork(self) -> dict[str, Any]:
        made = self.call("POST", "/artworks", self.artwork_body()["artwork_body"])
        return {"artwork_id": made["id"], "subject": made["id"]}

    def registered_guest_soon(self) -> dict[str, Any]:
        """A guest of an event an hour away: its register is open (from two hours before)."""
        return self.registered_guest(datetime.now(UTC) + timedelta(hours=1))


class Notifications(World):
    service = "notifications"

    def recipient(self) -> dict[str, Any]:
        person = uuid.uuid4()
        n = self.n()
        data = sample_data(
            CONTACT_RECORDED,
            person_id=person,
            given_name=f"Rhian{n}",
            email=f"rhian{n}@example.org",
            phone=None,
            preferred_language="cy",
            channels=["email"],
            safe_to_text=False,
        )
        self.handle(make_envelope(CONTACT_RECORDED, data, subject=str(person)))
        return {"recipient_id": str(person), "subject": str(person)}

    def coordinator(self) -> dict[str, Any]:
        coordinator = str(uuid.uuid4())
        self.call("PUT", f"/coordinators/{coordinator}", {"given_name": "Siân", "email": "sian@example.org"})
        return {"coordinator_id": coordinator, "subject": coordinator}

    def nothing(self) -> dict[str, Any]:
        coordinator = str(uuid.uuid4())
        return {"coordinator_id": coordinator, "subject": coordinator}

    def delivery(self) -> dict[str, Any]:
        """Someone's acknowledgement owed to them, as referral.received leaves it."""
        ids = self.recipient()
        data = sample_data(REFERRAL_RECEIVED, person_id=uuid.UUID(ids["recipient_id"]), preferred_language="cy")
        self.handle(make_envelope(REFERRAL_RECEIVED, data, subject=str(data["referral_id"])))
        deliveries = importlib.import_module("notifications.store").deliveries
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(deliveries.c.id).where(deliveries.c.recipient_id == ids["recipient_id"])
            ).scalars()
            return {**ids, "delivery_id": str(next(iter(found)))}

    def handle(self, envelope: Any) -> None:
        handlers = importlib.import_module("notifications.handlers").subscriptions
        assert deliver(self.engine, handlers, Producer(SITE, "notifications"), [envelope]).failures == []


WORLDS: dict[str, type[World]] = {
    "referrals": Referrals,
    "matching": Matching,
    "events": Events,
    "notifications": Notifications,
}


@dataclass
class Worlds:
    root: Path
    made: dict[str, World] = field(default_factory=dict)

    def __post_init__(self) -> None:
        token = new_token()
        self.config = token_entry(token, "coordinator", SITE, LABEL)
        self.header = {"Authorization": f"Bearer {token}"}

    def __getitem__(self, service: str) -> World:
        if service not in self.made:
            self.made[service] = WORLDS[service](self.root, self.config, self.header)
        return self.made[service]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worlds]:
    built = Worlds(tmp_path_factory.mktemp("audit"))
    yield built
    for world in built.made.values():
        world.close()


# --- the tests -----------------------------------------------------------------------------------


def concrete(template: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda match: str(ids[match.group(1)]), template)


def rows() -> list[Any]:
    return [
        pytest.param(
            service,
            row,
            id=f"{service} {row.operation}",
            marks=[pytest.mark.xfail(strict=True, reason=row.gap)] if row.gap else [],
        )
        for service, listed in AUDITED.items()
        for row in listed
    ]


@pytest.mark.parametrize(("service", "row"), rows())
def test_each_read_and_change_of_someones_record_leaves_an_entry(worlds, service, row):
    world = worlds[service]
    ids = getattr(world, row.arrange)()
    with world.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(world.trail.c.position), 0))).scalar_one()
    if row.public:
        ids["subject"] = world.self_refer()  # type: ignore[attr-defined]
    else:
        body = row.body(ids) if callable(row.body) else row.body
        answer = world.call(row.method, concrete(row.template, ids), body)
        if row.made:  # made by this call: whose record it is, the answer says
            ids["subject"] = answer[row.made]
    with world.engine.connect() as conn:
        entries = conn.execute(sa.select(world.trail).where(world.trail.c.position > before)).all()
    found = [
        (e.subject_kind, str(e.subject_id), e.action, e.actor, e.role, openapi_path(e.what.split(" ", 1)[1]))
        for e in entries
    ]
    actor, role = PUBLIC_ACTOR if row.public else (LABEL, "coordinator")
    expected = (row.kind or SUBJECT_KIND[service], str(ids["subject"]), row.action, actor, role, row.template)
    assert expected in found, f"no entry {expected} among {found}"
    assert all(e.what.startswith(f"{row.method} ") for e in entries), found


def operations_on_someones_record(app: Flask) -> set[str]:
    """From the service itself: its routes under a record's path, and the operations whose
    documented request body or 2xx answer carries someone's details."""
    found = {
        f"{method} {openapi_path(rule.rule)}"
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
        if RECORD_PATH.match(openapi_path(rule.rule))
    }
    document = app.test_client().get("/openapi.json").get_json()
    schemas = document.get("components", {}).get("schemas", {})
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            bodies = [(operation.get("requestBody") or {}).get("content") or {}]
            bodies += [
                answer.get("content") or {} for status, answer in operation["responses"].items() if status[0] == "2"
            ]
            named = set().union(*(_fields(c.get("schema", {}), schemas) for b in bodies for c in b.values()))
            if named & PERSONAL_FIELDS:
                found.add(f"{method.upper()} {path}")
    return found


def _fields(schema: dict[str, Any], schemas: dict[str, Any], seen: frozenset[str] = frozenset()) -> set[str]:
    """Every property name in a schema, through references, arrays and compositions."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return set() if name in seen else _fields(schemas.get(name, {}), schemas, seen | {name})
    names = set(schema.get("properties", {}))
    inner = list(schema.get("properties", {}).values())
    inner += [schema[key] for key in ("items", "additionalProperties") if isinstance(schema.get(key), dict)]
    inner += [s for key in ("allOf", "anyOf", "oneOf") for s in schema.get(key, [])]
    for part in inner:
        names |= _fields(part, schemas, seen)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_the_table_lists_every_operation_on_someones_record(worlds, service):
    app = worlds[service].app
    on_records = operations_on_someones_record(app)
    listed = {row.operation for row in AUDITED[service]}
    missed = on_records - listed - set(NOT_A_RECORD[service])
    assert missed == set(), f"{service}: operations on someone's record that nobody checked are audited: {missed}"
    served = {
        f"{method} {openapi_path(rule.rule)}"
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert (listed | set(NOT_A_RECORD[service])) - served == set(), f"{service} serves no such operation"
    gaps = [row.operation for row in AUDITED[service] if row.gap]
    print(
        f"{service}: {len(on_records)} operations on someone's record found, {len(listed)} in the table, gaps: {gaps}"
    )


def test_reporting_keeps_nobodys_record(tmp_path):
    """The central office holds figures and pseudonymous events only: no operation of it is on
    anyone's record (were one added, it would need an audit trail of its own)."""
    definition = importlib.import_module("reporting.app").DEFINITION
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    definition.migrations.upgrade(url)
    app = definition.create_app(settings_for("reporting", database_url=url, site="central"))
    try:
        assert operations_on_someones_record(app) == set()
    finally:
        app.extensions["peerlink"].engine.dispose()
