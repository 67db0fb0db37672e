"""Who may call what: every operation of every service against every kind of caller.

``MATRIX`` below is the whole access policy in one table, read by people: for each service,
each operation (method and path template, as in the service's ``/openapi.json``, plus its HTML
pages) and the roles it lets in. The test builds each real app on a migrated database and calls
every operation as each caller:

- no token, and a token nobody issued (or one revoked: taken out of ``PEERLINK_API_TOKENS``):
  401 with ``WWW-Authenticate``, as problem+json;
- each role of this site: a role the table lists is let through (a made-up id may then be 404,
  an empty body 422, but never 401 or 403); any other role gets 403 problem+json;
- a coordinator of another site: 403 on every operation that is not public.

A public operation answers every caller alike (the token is never looked at). The table must
list exactly the operations the apps serve: a new endpoint fails here until someone decides who
may call it. ``test_a_coordinator_of_another_site_can_neither_read_nor_change_this_sites_records``
does the same with the ids of real records made at this site, and checks nothing changed.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from peerlink.testing import Tokens, settings_for
from peerlink.web.auth import new_token, token_entry

C, M, F, R, S = "coordinator", "mentor", "facilitator", "central-reader", "service"
PUBLIC = "public"
NOBODY: frozenset[str] = frozenset()  # served, but to no token at all

# fmt: off
MATRIX: dict[str, dict[str, Any]] = {
    "referrals": {
        "GET /health/live": PUBLIC,
        "GET /health/ready": PUBLIC,
        "GET /metrics": PUBLIC,
        "GET /openapi.json": PUBLIC,
        "GET /self-referral": PUBLIC,                     # the public form (HTML)
        "POST /self-referral": PUBLIC,                    # CSRF-checked, rate limited
        "GET /self-referral/received": PUBLIC,
        "GET /referrals": {C, S},
        "POST /referrals": {C, S},
        "GET /referrals/figures": {C},
        "GET /referrals/{referral_id}": {C, S},
        "POST /referrals/{referral_id}/accept": {C},
        "POST /referrals/{referral_id}/decline": {C},
        "POST /referrals/{referral_id}/start": {C},
        "POST /referrals/{referral_id}/close": {C},
        "POST /referrals/{referral_id}/reopen": {C},
        "POST /referrals/{referral_id}/withdraw": {C},
        "GET /referrals/{referral_id}/transitions": {C},
        "GET /referrals/{referral_id}/duplicate-check": {C},   # a possible duplicate: both people's details
        "POST /referrals/{referral_id}/duplicate-check/resolve": {C},
        "GET /referrals/{referral_id}/check-ins": {C},
        "POST /referrals/{referral_id}/check-ins": {C},
        "GET /waiting-list": {C},
        "GET /outcome-scale": {C, M},
        "GET /people/{person_id}": {C},
        "DELETE /people/{person_id}": {C},                # erasure
        "GET /people/{person_id}/audit": {C},
        "GET /people/{person_id}/advocacy-issues": {C},
        "POST /people/{person_id}/advocacy-issues": {C},
        "POST /people/{person_id}/advocacy-issues/{issue_id}/resolve": {C},
    },
    "matching": {
        "GET /health/live": PUBLIC,
        "GET /health/ready": PUBLIC,
        "GET /metrics": PUBLIC,
        "GET /openapi.json": PUBLIC,
        "GET /mentors": {C, S},
        "POST /mentors": {C},
        "GET /mentors/caseloads": {C, S},
        "GET /mentors/{mentor_id}": {C, M, S},            # a mentor sees only their own contact details
        "PATCH /mentors/{mentor_id}": {C},
        "GET /mentors/{mentor_id}/audit": {C},            # who read or changed the mentor's record
        "POST /mentors/{mentor_id}/pause": {C},
        "POST /mentors/{mentor_id}/resume": {C},
        "POST /mentors/{mentor_id}/leave": {C},
        "GET /mentors/{mentor_id}/caseload": {C, M, S},
        "GET /mentors/{mentor_id}/do-not-match": {C},
        "POST /mentors/{mentor_id}/do-not-match": {C},
        "DELETE /mentors/{mentor_id}/do-not-match/{person_id}": {C},
        "GET /requests": {C, S},
        "GET /requests/{request_id}": {C, S},
        "GET /requests/{request_id}/suggestions": {C},
        "GET /requests/{request_id}/do-not-match": {C},
        "POST /requests/{request_id}/do-not-match": {C},
        "DELETE /requests/{request_id}/do-not-match/{mentor_id}": {C},
        "GET /matches": {C, S},
        "POST /matches": {C},
        "GET /matches/criteria-report": {C, S},
        "GET /matches/{match_id}": {C, M, S},
        "POST /matches/{match_id}/confirm": {C},
        "POST /matches/{match_id}/decline": {C, M},
        "POST /matches/{match_id}/end": {C},
        "PUT /matches/{match_id}/feedback/{side}": {C, M},
        "GET /matching-policy": {C, S},
        "PUT /matching-policy": {C},
        "GET /matching-runs": {C, S},
        "POST /matching-runs": {C},
        "GET /matching-runs/{run_id}": {C, S},
        "POST /matching-runs/{run_id}/publish": {C},
        "POST /matching-runs/{run_id}/discard": {C},
    },
    "events": {
        "GET /health/live": PUBLIC,
        "GET /health/ready": PUBLIC,
        "GET /metrics": PUBLIC,
        "GET /openapi.json": PUBLIC,
        "GET /public/events": PUBLIC,                     # the public listing (HTML, no form)
        "GET /public/calendar.ics": PUBLIC,
        "GET /public/groups/{group_id}/calendar.ics": PUBLIC,
        "GET /calendar.ics": {C, F, M, S},
        "GET /groups": {C, F, M, S},
        "POST /groups": {C, F},
        "GET /groups/{group_id}": {C, F, M, S},
        "PATCH /groups/{group_id}": {C, F},
        "GET /groups/{group_id}/calendar.ics": {C, F, M, S},
        "GET /groups/{group_id}/sales": {C, F, S},
        "GET /series": {C, F, M, S},
        "POST /series": {C, F},
        "GET /series/{series_id}": {C, F, M, S},
        "POST /series/{series_id}/end": {C, F},
        "GET /events": {C, F, M, S},
        "POST /events": {C, F},
        "GET /events/{event_id}": {C, F, M, S},
        "PATCH /events/{event_id}": {C, F},
        "POST /events/{event_id}/cancel": {C, F},
        "GET /events/{event_id}/attendance": {C, F, S},
        "POST /events/{event_id}/attendance": {C, F},
        "GET /events/{event_id}/registrations": {C, F, S},
        "POST /events/{event_id}/registrations": {C, F, M},
        "GET /events/{event_id}/registrations/{registration_id}": {C, F, M, S},
        "POST /events/{event_id}/registrations/{registration_id}/cancel": {C, F, M},
        "GET /events/{event_id}/sales": {C, F, S},
        "POST /events/{event_id}/sales": {C, F},
        "POST /events/{event_id}/sales/{sale_id}/void": {C, F},
        "GET /events/{event_id}/lots": {C, F},
        "POST /events/{event_id}/lots": {C, F},
        "GET /events/{event_id}/lots/{lot_id}/bids": {C, F},
        "POST /events/{event_id}/lots/{lot_id}/bids": {C, F},
        "POST /events/{event_id}/lots/{lot_id}/close": {C, F},
        "GET /artworks": {C, F, M, S},
        "POST /artworks": {C, F},
        "GET /artworks/{artwork_id}": {C, F, M, S},
        "POST /artworks/{artwork_id}/credit": {C, F},    # the artist's consent to their name changed
        "GET /artworks/{artwork_id}/credit-history": {C, F},
        "GET /artworks/{artwork_id}/audit": {C},
        "GET /guests/{guest_id}": {C, F},                 # a public guest's contact details
        "POST /guests/{guest_id}/erase": {C},
        "GET /guests/{guest_id}/audit": {C},
    },
    "notifications": {
        "GET /health/live": PUBLIC,
        "GET /health/ready": PUBLIC,
        "GET /metrics": PUBLIC,
        "GET /openapi.json": PUBLIC,
        "GET /people/{recipient_id}/preferences": {C, S},
        "PUT /people/{recipient_id}/preferences": {C},
        "GET /people/{recipient_id}/audit": {C},
        "GET /coordinators": {C, S},
        "PUT /coordinators/{coordinator_id}": {C},
        "DELETE /coordinators/{coordinator_id}": {C},
        "GET /deliveries": {C, S},
        "GET /deliveries/summary": {C, S},
        "GET /deliveries/{delivery_id}": {C, S},
        "GET /reminders": {C, S},
        "GET /templates": {C, S},
        "GET /templates/{kind}": {C, S},
        "POST /templates/{kind}/preview": {C, S},
        "GET /compliance/language-decisions": {C, S},
    },
    "reporting": {                                        # the central office
        "GET /health/live": PUBLIC,
        "GET /health/ready": PUBLIC,
        "GET /metrics": PUBLIC,
        "GET /openapi.json": PUBLIC,
        "GET /dashboard/login": PUBLIC,                   # sign-in form (HTML)
        "POST /dashboard/login": PUBLIC,                  # CSRF-checked, rate limited
        "POST /dashboard/logout": PUBLIC,                 # CSRF-checked
        "GET /dashboard": {R},                            # bearer header or the signed-in cookie
        "GET /reports": {R},
        "GET /reports.csv": {R},
        "GET /reports/log": {R},
        **{f"GET /reports/{name}{suffix}": {R}
           for name in ("referrals", "waiting", "matches", "mentors", "sessions", "money", "outcomes",
                        "advocacy", "notifications")
           for suffix in ("", ".csv")},
    },
}
# fmt: on

# Where each service runs in the test: sites run at ebbw-vale, the central office as "central".
HOME = {"referrals": "ebbw-vale", "matching": "ebbw-vale", "events": "ebbw-vale", "notifications": "ebbw-vale"}
HOME["reporting"] = "central"
OTHER_SITE = "merthyr"
ROLES = (C, M, F, R, S)
CALLERS = ("no token", "unknown token", *ROLES, "coordinator of another site")
# A made-up value for each kind of path parameter (the record does not exist: 404 is fine).
PARAMETERS = {"side": "mentor", "kind": "referral-acknowledged"}
BODY_METHODS = ("POST", "PUT", "PATCH")
# The mentor id in the mentor's token: where a path names a mentor, the mentor caller names
# themselves (another mentor's record is 403: test_a_mentor_reads_only_their_own_record).
MENTOR_SELF = str(uuid.uuid4())


def template_of(rule: str) -> str:
    """werkzeug's ``/people/<uuid:person_id>`` as OpenAPI's ``/people/{person_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def served_operations(app: Flask) -> set[str]:
    return {
        f"{method} {template_of(rule.rule)}"
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def documented_operations(client: FlaskClient) -> set[str]:
    document = client.get("/openapi.json").get_json()
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


def concrete(template: str, ids: dict[str, str] | None = None) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return (ids or {}).get(name) or PARAMETERS.get(name) or str(uuid.uuid4())

    return re.sub(r"\{([^}]+)\}", fill, template)


class Apps:
    """One app per service for the whole module (the checks below change nothing that matters)."""

    def __init__(self, root: Path):
        self.tokens = Tokens()
        for role in ROLES:
            for site in set(HOME.values()):
                self.tokens.token(role, site)
        self.tokens.token(C, OTHER_SITE)
        # A mentor's token is labelled with their mentor id: they may read their own record only.
        self.mentor = new_token()
        # A token that was issued once and taken out of PEERLINK_API_TOKENS (revoked), or never was.
        self.unknown = new_token()
        config = ",".join([self.tokens.config(), token_entry(self.mentor, M, "ebbw-vale", MENTOR_SELF)])
        self.apps: dict[str, Flask] = {}
        for service, site in HOME.items():
            definition = importlib.import_module(f"{service}.app").DEFINITION
            url = f"sqlite:///{root / service}.db"
            definition.migrations.upgrade(url)
            self.apps[service] = definition.create_app(
                settings_for(service, database_url=url, site=site, tokens=config)
            )

    def headers(self, service: str, caller: str) -> dict[str, str]:
        site = HOME[service]
        if caller == "no token":
            return {}
        if caller == "unknown token":
            return {"Authorization": f"Bearer {self.unknown}"}
        if caller == M and site == "ebbw-vale":
            return {"Authorization": f"Bearer {self.mentor}"}
        if caller == "coordinator of another site":
            return self.tokens.header(C, OTHER_SITE)
        return self.tokens.header(caller, site)

    def close(self) -> None:
        for app in self.apps.values():
            app.extensions["peerlink"].engine.dispose()


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    built = Apps(tmp_path_factory.mktemp("roles"))
    yield built
    built.close()


def call(client: FlaskClient, method: str, path: str, headers: dict[str, str], caller: str) -> Any:
    # Each caller from its own address, so that the public forms' rate limits count each apart.
    address = f"127.0.0.{CALLERS.index(caller) + 10}"
    body = {"json": {}} if method in BODY_METHODS else {}
    return client.open(path, method=method, headers=headers, environ_base={"REMOTE_ADDR": address}, **body)


@pytest.mark.parametrize("service", list(MATRIX))
def test_the_table_lists_exactly_the_operations_each_service_serves_and_documents(apps, service):
    app = apps.apps[service]
    served = served_operations(app)
    listed = set(MATRIX[service])
    assert served - listed == set(), f"{service} serves operations nobody decided who may call: {served - listed}"
    assert listed - served == set(), f"the table lists operations {service} does not serve: {listed - served}"
    documented = documented_operations(app.test_client())
    assert documented - listed == set(), f"{service} documents operations the table misses: {documented - listed}"


def assert_problem(response: Any, status: int, where: str) -> None:
    assert response.status_code == status, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    assert response.mimetype == "application/problem+json", f"{where}: {response.mimetype}"
    assert response.get_json()["status"] == status, where


@pytest.mark.parametrize("service", list(MATRIX))
def test_every_operation_lets_in_exactly_the_roles_the_table_lists(apps, service):
    client = apps.apps[service].test_client()
    checked = 0
    for operation, allowed in MATRIX[service].items():
        method, template = operation.split(" ", 1)
        path, own_path = concrete(template), concrete(template, {"mentor_id": MENTOR_SELF})
        answers = {}
        for caller in CALLERS:
            target = own_path if caller == M else path
            response = call(client, method, target, apps.headers(service, caller), caller)
            where = f"{service} {operation} as {caller}"
            answers[caller] = response.status_code
            checked += 1
            if allowed == PUBLIC:
                # (/health/ready may say 503: the test's apps have no broker to be ready for.)
                assert response.status_code != 500, where
                continue
            if caller in ("no token", "unknown token"):
                assert_problem(response, 401, where)
                assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
            elif caller == "coordinator of another site" or caller not in allowed:
                assert_problem(response, 403, where)
            else:
                assert response.status_code not in (401, 403), f"{where}: {response.get_data(as_text=True)[:300]}"
                assert response.status_code < 500, f"{where}: {response.get_data(as_text=True)[:300]}"
        if allowed == PUBLIC:
            # Nobody's token changes what a public operation answers.
            assert len(set(answers.values())) == 1, f"{service} {operation} answers callers differently: {answers}"
    print(f"{service}: {len(MATRIX[service])} operations x {len(CALLERS)} callers = {checked} requests checked")


def test_a_mentor_reads_only_their_own_record(apps):
    client = apps.apps["matching"].test_client()
    mentor = apps.headers("matching", M)
    for path in ("/mentors/{mentor_id}", "/mentors/{mentor_id}/caseload"):
        assert client.get(concrete(path, {"mentor_id": MENTOR_SELF}), headers=mentor).status_code == 404
        assert_problem(client.get(concrete(path), headers=mentor), 403, f"{path} of another mentor")


# --- cross-site, with real records ----------------------------------------------------------------

REFERRAL = {
    "site": "ebbw-vale",
    "person": {
        "given_name": "Rhian",
        "family_name": "Pritchard",
        "date_of_birth": "1985-03-02",
        "preferred_language": "cy",
        "contact": {"email": "rhian@example.org", "phone": "+44 7700 900123", "channels": ["email"]},
    },
    "source": "gp",
    "support_needs": ["alcohol"],
    "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
    "risk_flags": ["lone-working-risk"],
    "risk_note": "Prefers meetings in the café, not at home.",
}
MENTOR = {
    "kind": "volunteer",
    "contact": {
        "given_name": "Gareth",
        "family_name": "Llewellyn",
        "email": "gareth@example.org",
        "phone": "+44 7700 900456",
        "preferred_language": "cy",
        "channels": ["email"],
        "safe_to_text": True,
    },
    "gender": "male",
    "languages": ["cy", "en"],
    "lived_experience": ["alcohol"],
    "skills": ["housing"],
    "interests": ["art"],
    "availability": ["tue-pm"],
    "capacity": 2,
    "safeguarding": {
        "dbs_checked_on": "2026-01-05",
        "training_completed_on": "2026-01-10",
        "last_supervision_on": "2026-10-01",
        "stable_since": "2023-01-01",
    },
}
GROUP = {"name_cy": "Grŵp celf", "name_en": "Art group", "usual_venue": "Ebbw Vale Institute"}


def real_records(apps: Apps) -> dict[str, dict[str, str]]:
    """Records made at ebbw-vale by its own coordinator: the ids another site will try."""
    own = {s: apps.apps[s].test_client() for s in HOME}
    header = apps.tokens.header(C, "ebbw-vale")
    referral = own["referrals"].post("/referrals", json=REFERRAL, headers=header)
    assert referral.status_code == 201, referral.get_json()
    mentor = own["matching"].post("/mentors", json=MENTOR, headers=header)
    assert mentor.status_code == 201, mentor.get_json()
    group = own["events"].post("/groups", json=GROUP, headers=header)
    assert group.status_code == 201, group.get_json()
    event = own["events"].post(
        "/events",
        json={
            "group_id": group.get_json()["id"],
            "kind": "group-session",
            "title_cy": "Sesiwn gelf",
            "title_en": "Art session",
            "starts_at": "2030-06-04T10:00:00",
            "ends_at": "2030-06-04T12:00:00",
            "capacity": 10,
            "public": False,
        },
        headers=header,
    )
    assert event.status_code == 201, event.get_json()
    coordinator_id = str(uuid.uuid4())
    put = own["notifications"].put(
        f"/coordinators/{coordinator_id}",
        json={"given_name": "Siân", "email": "sian@example.org", "preferred_language": "cy"},
        headers=header,
    )
    assert put.status_code in (200, 201), put.get_json()
    return {
        "referrals": {"referral_id": referral.get_json()["id"], "person_id": referral.get_json()["person_id"]},
        "matching": {"mentor_id": mentor.get_json()["id"]},
        "events": {"group_id": group.get_json()["id"], "event_id": event.get_json()["id"]},
        "notifications": {"coordinator_id": coordinator_id},
    }


# What the site's own coordinator reads to see that the record is as it was.
RECORD_VIEWS = {
    "referrals": ["/referrals/{referral_id}", "/people/{person_id}"],
    "matching": ["/mentors/{mentor_id}"],
    "events": ["/groups/{group_id}", "/events/{event_id}"],
    "notifications": ["/coordinators"],
}


def test_a_coordinator_of_another_site_can_neither_read_nor_change_this_sites_records(apps):
    records = real_records(apps)
    own_header = apps.tokens.header(C, "ebbw-vale")
    stranger = apps.tokens.header(C, OTHER_SITE)
    tried = 0
    for service, ids in records.items():
        client = apps.apps[service].test_client()
        before = [client.get(concrete(v, ids), headers=own_header).get_json() for v in RECORD_VIEWS[service]]
        for operation, allowed in MATRIX[service].items():
            method, template = operation.split(" ", 1)
            names = re.findall(r"\{([^}]+)\}", template)
            if allowed == PUBLIC or any(n not in ids and n not in PARAMETERS for n in names):
                continue
            # A real body too (the record's own view), so that only the site check stands in the way.
            body = {"json": before[0]} if method in BODY_METHODS else {}
            response = client.open(concrete(template, ids), method=method, headers=stranger, **body)
            assert_problem(response, 403, f"{service} {operation} as {OTHER_SITE}'s coordinator")
            assert "Rhian" not in response.get_data(as_text=True) and "gareth@" not in response.get_data(as_text=True)
            tried += 1
        after = [client.get(concrete(v, ids), headers=own_header).get_json() for v in RECORD_VIEWS[service]]
        assert after == before, f"{service}: a record changed after another site's coordinator tried"
    # ...and a coordinator of this site cannot make a record for another site through this one.
    refused = (
        apps.apps["referrals"]
        .test_client()
        .post("/referrals", json={**REFERRAL, "site": OTHER_SITE}, headers=own_header)
    )
    assert refused.status_code in (403, 422), refused.get_json()
    print(f"cross-site: {tried} operations on real records of ebbw-vale refused to {OTHER_SITE}'s coordinator")
    assert tried >= 30


# --- what every response carries, what every body may weigh -------------------------------------

# Public listings of events may be cached a little; every other answer is kept by nobody.
CACHEABLE = {("events", "GET /public/events"), ("events", "GET /public/calendar.ics")}
CACHEABLE |= {("events", "GET /public/groups/{group_id}/calendar.ics")}
CACHEABLE |= {("events", f"GET {p}") for p in ("/calendar.ics", "/groups/{group_id}/calendar.ics")}  # private


def assert_security_headers(response: Any, where: str, *, cacheable: bool) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, f"{where}: {policy}"
    assert "Server" not in headers, where
    if not cacheable:
        assert headers.get("Cache-Control") == "no-store", f"{where}: {headers.get('Cache-Control')}"
    if response.mimetype == "text/html":
        assert "script-src" not in policy and "'unsafe-inline'" not in policy, f"{where}: {policy}"


@pytest.mark.parametrize("service", list(MATRIX))
def test_every_response_carries_the_security_headers(apps, service):
    client = apps.apps[service].test_client()
    pages = 0
    for operation, allowed in MATRIX[service].items():
        method, template = operation.split(" ", 1)
        roles = [c for c in ("no token", C, R) if allowed == PUBLIC or c == "no token" or c in allowed]
        for caller in roles:
            response = call(client, method, concrete(template), apps.headers(service, caller), caller)
            where = f"{service} {operation} as {caller} ({response.status_code})"
            assert_security_headers(response, where, cacheable=(service, operation) in CACHEABLE)
            pages += response.mimetype == "text/html"
    print(f"{service}: headers checked on every operation, {pages} of them HTML pages")


@pytest.mark.parametrize("service", list(MATRIX))
def test_every_body_over_the_limit_is_refused_with_413_before_anything_else(apps, service):
    client = apps.apps[service].test_client()
    limit = apps.apps[service].config["MAX_CONTENT_LENGTH"]
    too_big = b'{"a": "' + b"x" * limit + b'"}'
    refused = 0
    for operation, allowed in MATRIX[service].items():
        method, template = operation.split(" ", 1)
        if method not in BODY_METHODS:
            continue
        callers = ["no token", *([] if allowed == PUBLIC else sorted(allowed))]
        for caller in callers:
            for content_type in ("application/json", "application/x-www-form-urlencoded"):
                response = client.open(
                    concrete(template, {"mentor_id": MENTOR_SELF}),
                    method=method,
                    data=too_big,
                    headers={**apps.headers(service, caller), "Content-Type": content_type},
                    environ_base={"REMOTE_ADDR": "127.0.1.1"},
                )
                assert_problem(response, 413, f"{service} {operation} as {caller} ({content_type})")
                refused += 1
    print(f"{service}: {refused} oversized bodies refused with 413")


@pytest.mark.parametrize(
    ("service", "path", "content_type"),
    [("referrals", "/referrals", "application/json"), ("referrals", "/self-referral", "multipart/form-data")],
)
def test_a_body_sent_without_a_length_is_cut_at_the_limit(apps, service, path, content_type):
    """Chunked uploads (as gunicorn passes them on: no Content-Length, input terminated)."""
    app = apps.apps[service]
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = app.test_client().post(
        path,
        input_stream=__import__("io").BytesIO(big),
        headers={**apps.headers(service, C), "Content-Type": f"{content_type}; boundary=b"},
        environ_overrides={"wsgi.input_terminated": True},
        environ_base={"REMOTE_ADDR": "127.0.1.2"},
    )
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
