"""Every service's HTTP API against its own ``/openapi.json`` (schemathesis): no 5xx, and no
answer that breaks what the document promises: its status codes, its content type (errors as
problem+json), its body schema, its headers; and no invalid request accepted.

Each service is its real app (``create_app``) on a fresh, migrated database, with real tokens;
each operation is called as a role that may use it (``peerlink.testing.conformance``). Two
passes per service:

1. every operation alone, with valid and then with invalid inputs;
2. sequences of linked calls (schemathesis infers the links from the document: the id a POST
   answers goes into the path of the next call), each on an emptied database, so that the
   operations on a referral, a match or an event run on one that exists.

Before the valid inputs of each operation that may change what it names, and at the start of
each sequence, the service's records are made through its own API (``RECORDS``: referrals in
every state of triage, mentors, requests and matches, a group's events with a guest, a sale
and an auction lot, recipients and their deliveries), and valid requests name them
(``peerlink.testing.conformance.KnownRecords``): an operation on a random id answers 404 and
nothing behind it is fuzzed. How far the fuzzing reached is asserted: each service has a number
of operations that must answer 2xx at least once (``REACHED``), one under what it reaches, so
that a change that stops it short fails. What it found that the services' owners have yet to
fix is listed in ``KNOWN_FAILURES``: only that failure, on that operation, is let through.

The broker URL points at a port where nothing listens: a request that needed the broker would
fail here, and none may (the apps publish only through the outbox). Health and metrics are not
in the OpenAPI documents, so they are not fuzzed (their tests run with a broker).

Generation is derandomized (``derandomize=True``): CI sends the same requests on every run, so a
failure here reproduces by running this file again.
"""

from __future__ import annotations

import importlib
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from schemathesis import checks

from peerlink.contracts import CONTACT_RECORDED, MATCH_CONFIRMED, REFERRAL_ACCEPTED, REFERRAL_RECEIVED
from peerlink.outbox import Producer
from peerlink.testing import Tokens, free_port, make_envelope, sample_data, settings_for
from peerlink.testing.conformance import (
    Answers,
    Callers,
    KnownRecords,
    empty_tables,
    fuzz_operations,
    load_schema,
    roles_by_operation,
    run_stateful,
)
from peerlink.testing.stateful import deliver
from peerlink.web import idempotency

# (service, the site its instance serves): reporting is the central office.
SERVICES = {
    "referrals": "ebbw-vale",
    "matching": "ebbw-vale",
    "events": "ebbw-vale",
    "notifications": "ebbw-vale",
    "reporting": "central",
}
ROLES = ("coordinator", "mentor", "facilitator", "central-reader", "service")

# Sized to the CI budget: all five services in about a minute on two cores. Valid inputs, which
# now reach the records made for them, get more examples than invalid ones, refused at the door.
EXAMPLES_PER_OPERATION = 15  # of valid inputs
INVALID_EXAMPLES_PER_OPERATION = 12
SCENARIOS = 10  # sequences of linked calls per service
STEPS = 12  # calls in a sequence at most

# Operations that answer 2xx at least once, per service: one under what a run reaches (referrals
# 22 of 23, matching 31 of 34, events 35 of 39, notifications 14 of 14, reporting 21 of 21; before
# the records were made for them: 12, 14, 9, 12 and 21), so that a change that stops the fuzzing
# short fails here.
REACHED = {"referrals": 21, "matching": 30, "events": 34, "notifications": 13, "reporting": 20}


@dataclass(frozen=True)
class KnownFailure:
    """A failure the fuzzing finds that is reported to the service's owners and not yet fixed:
    only these failure codes are excused, on this operation only. One found on every run must
    keep being found, so that the test fails (and the entry goes) once it is fixed; one that
    needs a generated value a run may not reach (``every_run=False``) need not."""

    codes: tuple[str, ...]
    why: str
    every_run: bool = True


SERVER_ERROR, UNDOCUMENTED_CONTENT_TYPE, INVALID_ACCEPTED = "ST101", "ST105", "ST201"
KNOWN_FAILURES: dict[str, dict[str, KnownFailure]] = {}

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


@dataclass
class ServiceUnderTest:
    name: str
    app: Flask
    callers: Callers
    tables: list[sa.MetaData]

    def empty_database(self) -> None:
        empty_tables(self.app.extensions["peerlink"].engine, self.tables)

    def known_records(self) -> KnownRecords:
        make = RECORDS.get(self.name)
        if make is None:
            return KnownRecords()
        api = Api(self.name, self.app, self.callers.headers_by_role["coordinator"])
        return KnownRecords(lambda: make(api))


# --- records to fuzz on: each service's, made through its own API ------------------------------


class Api:
    """A service's API as its coordinator calls it, to make the records the fuzzing names."""

    numbers = itertools.count(1)  # every person made is someone new: no one is taken for a duplicate

    def __init__(self, name: str, app: Flask, headers: Any):
        self.name, self.app, self.headers = name, app, dict(headers)
        self.client = app.test_client()
        self.engine: sa.Engine = app.extensions["peerlink"].engine

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        response = self.client.open(path, method=method, json=body, headers=headers)
        assert response.status_code < 300, f"making records: {method} {path}: {response.get_data(as_text=True)[:500]}"
        return response.get_json(silent=True)

    def handle(self, event_type: Any, data: dict[str, Any], source: str) -> None:
        """An event from another service, through this one's handlers and inbox."""
        handlers = importlib.import_module(f"{self.name}.handlers").subscriptions
        envelope = make_envelope(event_type, data, service=source, subject=str(uuid.uuid4()))
        assert deliver(self.engine, handlers, Producer("ebbw-vale", self.name), [envelope]).failures == []

    def n(self) -> int:
        return next(self.numbers)


def referral_body(n: int) -> dict[str, Any]:
    return {
        "site": "ebbw-vale",
        "person": {
            "given_name": f"Rhian{n}",
            "family_name": "Pritchard",
            "date_of_birth": (date(1950, 1, 1) + timedelta(days=n)).isoformat(),
            "preferred_language": "cy",
            "contact": {"email": f"rhian{n}@example.org", "channels": ["email"]},
        },
        "source": "gp",
        "support_needs": ["alcohol"],
        "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
    }


def referrals_records(api: Api) -> dict[str, list[Any]]:
    """A referral in each state of triage (received, accepted, matched, active, closed, and one
    waiting for its possible duplicate to be checked), and an advocacy issue."""
    made, first = {}, api.n()
    for state in ("received", "accepted", "matched", "active", "closed"):
        made[state] = api("POST", "/referrals", referral_body(first if state == "received" else api.n()))
    for state in ("accepted", "matched", "active", "closed"):
        api("POST", f"/referrals/{made[state]['id']}/accept", {})
    for state in ("matched", "active", "closed"):
        data = {
            "match_id": uuid.uuid4(),
            "referral_id": uuid.UUID(made[state]["id"]),
            "person_id": uuid.UUID(made[state]["person_id"]),
            "mentor_id": uuid.uuid4(),
            "confirmed_at": datetime.now(UTC),
        }
        api.handle(MATCH_CONFIRMED, data, "matching")
    for state in ("active", "closed"):
        api("POST", f"/referrals/{made[state]['id']}/start", {})
    api("POST", f"/referrals/{made['closed']['id']}/close", {"outcome": "completed"})
    again = referral_body(first)
    again["person"]["contact"]["email"] = "rhian.new@example.org"  # the same person, by name and birth
    made["duplicate"] = api("POST", "/referrals", again)
    person = made["received"]["person_id"]
    issue = api("POST", f"/people/{person}/advocacy-issues", {"category": "debt", "summary": "A council letter."})
    return {
        "referral_id": [r["id"] for r in made.values()],
        "person_id": list(dict.fromkeys(r["person_id"] for r in made.values())),
        "issue_id": [issue["id"]],
    }


def mentor_body(n: int) -> dict[str, Any]:
    today = date.today()
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
        "capacity": 3,
        "safeguarding": {
            "dbs_checked_on": (today - timedelta(days=30)).isoformat(),
            "training_completed_on": (today - timedelta(days=20)).isoformat(),
            "last_supervision_on": (today - timedelta(days=10)).isoformat(),
            "stable_since": "2020-01-01",
        },
    }


def matching_records(api: Api) -> dict[str, list[Any]]:
    """Mentors (one paused), people waiting for one, a proposed and a confirmed match, a run."""
    mentors = [api("POST", "/mentors", mentor_body(api.n()))["id"] for _ in range(3)]
    api("POST", f"/mentors/{mentors[2]}/pause", {"reason": "health"})
    people = [uuid.uuid4() for _ in range(3)]
    for person in people:
        data = sample_data(
            REFERRAL_ACCEPTED,
            person_id=person,
            support_needs=["alcohol"],
            interests=["art"],
            availability=["tue-pm"],
            preferred_language="en",
            priority=False,
            preferences={"mentor_gender": "no-preference", "welsh_speaking_mentor": False},
            accepted_at=datetime.now(UTC) - timedelta(days=5),
        )
        api.handle(REFERRAL_ACCEPTED, data, "referrals")
    requests = [r["id"] for r in api("GET", "/requests?limit=100")["items"] if r["person_id"] in map(str, people)]
    proposed = api("POST", "/matches", {"request_id": requests[0], "mentor_id": mentors[0]})
    confirmed = api("POST", "/matches", {"request_id": requests[1], "mentor_id": mentors[1], "confirm": True})
    run = api("POST", "/matching-runs", {})
    return {
        "mentor_id": mentors,
        "request_id": requests,
        "person_id": [str(p) for p in people],
        "match_id": [proposed["id"], confirmed["id"]],
        "run_id": [run["id"]],
    }


def events_records(api: Api) -> dict[str, list[Any]]:
    """A group, its series and events (public with places, private, an auction, one about to
    start so that its register is open), a guest registered, artworks, a sale and a lot."""
    group = api("POST", "/groups", {"name_cy": "Grŵp celf", "name_en": "Art group", "usual_venue": "Institute"})

    def event(starts: datetime, **extra: Any) -> Any:
        body = {
            "group_id": group["id"],
            "kind": "group-session",
            "title_cy": "Sesiwn gelf",
            "title_en": "Art session",
            # Instants with their offset: a wall time would be read in Europe/London, an hour
            # off in summer (and refused in the hour the clocks skip).
            "starts_at": starts.replace(microsecond=0).isoformat(),
            "ends_at": (starts + timedelta(hours=2)).replace(microsecond=0).isoformat(),
            "capacity": 10,
            "public": True,
            **extra,
        }
        return api("POST", "/events", body)

    week = datetime.now(UTC) + timedelta(days=7)
    public, private = event(week), event(week + timedelta(days=1), public=False)
    auction = event(week + timedelta(days=2), kind="auction", capacity=None, title_en="Auction", title_cy="Ocsiwn")
    soon = event(datetime.now(UTC) + timedelta(hours=1))
    guest = {"given_name": "Sioned", "family_name": "Pritchard", "email": "sioned@example.org"}
    registrations = [api("POST", f"/events/{e['id']}/registrations", {"guest": guest}) for e in (public, soon)]
    series = api(
        "POST",
        "/series",
        {
            "group_id": group["id"],
            "title_cy": "Grŵp celf dydd Mawrth",
            "title_en": "Tuesday art group",
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "first_starts_at": week.replace(hour=10, minute=0, second=0, microsecond=0).isoformat(),
            "duration_minutes": 120,
            "capacity": 12,
        },
    )
    artworks = [
        api(
            "POST",
            "/artworks",
            {
                "group_id": group["id"],
                "artist_person_id": str(uuid.uuid4()),
                "credit": "name",
                "artist_name": "Joe Bloggs",
                "title": f"Sunrise {n}",
                "medium": "Acrylic",
                "artist_share_percent": 50,
            },
        )
        for n in range(2)
    ]
    sale = api(
        "POST",
        f"/events/{public['id']}/sales",
        {"kind": "artwork", "artwork_id": artworks[0]["id"], "unit_price_pence": 12_000},
    )
    lot = api("POST", f"/events/{auction['id']}/lots", {"artwork_id": artworks[1]["id"], "reserve_pence": 1_000})
    return {
        "group_id": [group["id"]],
        "event_id": [e["id"] for e in (public, private, auction, soon)],
        "series_id": [series["id"]],
        "registration_id": [r["id"] for r in registrations],
        "guest_id": [r["guest_id"] for r in registrations],
        "artwork_id": [a["id"] for a in artworks],
        "sale_id": [sale["id"]],
        "lot_id": [lot["id"]],
    }


def notifications_records(api: Api) -> dict[str, list[Any]]:
    """People with contact details (one acknowledged: a delivery owed), and a coordinator."""
    people = [uuid.uuid4() for _ in range(2)]
    for n, person in enumerate(people):
        contact = sample_data(
            CONTACT_RECORDED,
            person_id=person,
            given_name=f"Rhian{n}",
            email=f"rhian{n}@example.org",
            phone=None,
            preferred_language="cy",
            channels=["email"],
            safe_to_text=False,
        )
        api.handle(CONTACT_RECORDED, contact, "referrals")
    api.handle(REFERRAL_RECEIVED, sample_data(REFERRAL_RECEIVED, person_id=people[0]), "referrals")
    coordinator = str(uuid.uuid4())
    api("PUT", f"/coordinators/{coordinator}", {"given_name": "Siân", "email": "sian@example.org"})
    deliveries = api("GET", f"/deliveries?recipient_id={people[0]}")
    return {
        "recipient_id": [str(p) for p in people] + [coordinator],
        "coordinator_id": [coordinator],
        "delivery_id": [d["id"] for d in deliveries],
    }


RECORDS: dict[str, Callable[[Api], dict[str, list[Any]]]] = {
    "referrals": referrals_records,
    "matching": matching_records,
    "events": events_records,
    "notifications": notifications_records,
}


@pytest.fixture(params=list(SERVICES))
def service_under_test(request: pytest.FixtureRequest, new_database_url, tokens: Tokens) -> Iterator[ServiceUnderTest]:
    name, site = request.param, SERVICES[request.param]
    definition = importlib.import_module(f"{name}.app").DEFINITION
    database_url = new_database_url(name)
    definition.migrations.upgrade(database_url)
    headers = {role: tokens.header(role, site) for role in ROLES}
    nobody_listens = f"amqp://guest:guest@127.0.0.1:{free_port()}/{site}"
    app = definition.create_app(
        settings_for(name, database_url=database_url, amqp_url=nobody_listens, site=site, tokens=tokens.config())
    )
    try:
        callers = Callers(roles_by_operation(app), headers, site)
        yield ServiceUnderTest(name, app, callers, definition.migrations.target_metadata())
    finally:
        app.extensions["peerlink"].engine.dispose()


@pytest.mark.parametrize("new_database_url", ["postgresql"], indirect=True)
def test_every_operation_keeps_to_its_document(service_under_test: ServiceUnderTest) -> None:
    started = time.monotonic()
    schema = load_schema(service_under_test.app)
    known_failures = KNOWN_FAILURES.get(service_under_test.name, {})
    answers = Answers({label: known.codes for label, known in known_failures.items()})
    known = service_under_test.known_records()
    results = fuzz_operations(
        schema,
        service_under_test.callers,
        max_examples=EXAMPLES_PER_OPERATION,
        invalid_examples=INVALID_EXAMPLES_PER_OPERATION,
        checks=CHECKS,
        answers=answers,
        known=known,
    )
    failures = [f"{r.label} ({r.mode} inputs, as {r.role}):\n{r.failure}" for r in results if r.failure]
    operations = {r.label for r in results}
    alone = answers.calls

    if not _only_reads(operations):
        try:
            run_stateful(
                schema,
                service_under_test.callers,
                max_examples=SCENARIOS,
                steps=STEPS,
                checks=CHECKS,
                reset=service_under_test.empty_database,
                answers=answers,
                known=known,
            )
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"a sequence of linked calls:\n{exc}")

    reached = answers.succeeded() & operations
    print(
        f"\n{service_under_test.name}: {len(operations)} operations, {len(reached)} of them answered 2xx; "
        f"{alone} calls alone, {answers.calls - alone} in linked sequences; "
        f"{len(failures)} failing, {sum(answers.excused.values())} known failures met; "
        f"{time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n\n".join(failures)
    fixed = {label for label, known in known_failures.items() if known.every_run} - set(answers.excused)
    assert not fixed, f"known failures no longer found (fixed? take them out of KNOWN_FAILURES): {fixed}"
    unreached = sorted(operations - reached)
    assert len(reached) >= REACHED[service_under_test.name], f"fewer operations reached a 2xx; never: {unreached}"


def _only_reads(operations: set[str]) -> bool:
    """A service with nothing but reads (the central reports) has nothing to link."""
    return all(label.startswith("GET ") for label in operations)


@pytest.mark.parametrize("new_database_url", ["sqlite"], indirect=True)
def test_every_idempotency_key_is_documented_as_it_is_checked(service_under_test: ServiceUnderTest) -> None:
    """Documented as "8 to 100 characters", keys the services refuse (a space, an accent) were
    valid by the document: the fuzzer's valid requests were refused with 400."""
    document = service_under_test.app.test_client().get("/openapi.json").get_json()
    declared = [
        parameter["schema"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == idempotency.HEADER
    ]
    assert all(schema.get("pattern") == idempotency.PATTERN for schema in declared), declared
