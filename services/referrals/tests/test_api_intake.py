import copy
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import assert_migrations_match_models, count_rows, find_personal_data, sqlite_only
from referrals import store
from referrals.app import DEFINITION
from referrals.store import people, referrals

FIFTEEN_YEARS_AGO = f"{datetime.now(UTC).year - 15}-01-01"  # born on 1 January then: 15 all this year

INTAKE_ID = "4e0a7c1b-2d3e-4f50-8a6b-7c8d9e0f1a2b"


def written(engine) -> tuple[int, int, int]:
    return count_rows(engine, people), count_rows(engine, referrals), count_rows(engine, outbox)


def test_the_migrations_build_exactly_the_models(database_url):
    assert_migrations_match_models(DEFINITION.migrations, database_url)


def test_a_referral_is_stored_with_its_two_events_in_one_transaction(client, tokens, engine, body):
    response = client.post("/referrals", json=body(), headers={**tokens.header(), "X-Correlation-ID": INTAKE_ID})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "received"
    assert created["allowed_actions"] == ["accept", "decline", "withdraw"]
    assert created["consent"]["wording_version"] == "2026-01"
    assert created["age_band"] == "35-44"
    assert created["risk_flags"] == ["lone-working-risk"]  # a coordinator sees them
    assert written(engine) == (1, 1, 2)
    with engine.connect() as conn:
        rows = {row.exchange: row for row in conn.execute(sa.select(outbox))}
    received = parse_envelope(rows["peerlink.events"].body)
    contact = parse_envelope(rows["peerlink.private"].body)
    assert received.type == "peerlink.referral.received.v1"
    assert received.subject == created["id"]
    assert received.data["person_id"] == created["person_id"]
    assert contact.type == "peerlink.contact.recorded.v1"
    assert contact.data["email"] == "rhian@example.org"
    assert received.correlationid == contact.correlationid == INTAKE_ID
    public_text = rows["peerlink.events"].body
    assert find_personal_data(public_text, known=("Rhian", "Pritchard", "1985-03-02")) == []
    assert len(find_personal_data(rows["peerlink.private"].body, known=("Rhian", "Pritchard"))) == 4


def test_a_referral_can_be_read_back_and_listed(client, tokens, body):
    created = client.post("/referrals", json=body(), headers=tokens.header()).get_json()
    assert client.get(f"/referrals/{created['id']}", headers=tokens.header()).get_json() == created
    page = client.get("/referrals?status=received&limit=10", headers=tokens.header()).get_json()
    assert page["total"] == 1 and page["items"] == [created]


def without(body: dict, *path: str) -> dict:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def changed(body: dict, value, *path: str) -> dict:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("mutate", "status", "pointer"),
    [
        (lambda b: without(b, "person"), 422, "/person"),
        (lambda b: without(b, "person", "date_of_birth"), 422, "/person/date_of_birth"),
        (lambda b: without(b, "consent"), 422, "/consent"),
        (lambda b: changed(b, "yesterday", "person", "date_of_birth"), 422, "/person/date_of_birth"),
        (lambda b: changed(b, "lots", "support_needs"), 422, "/support_needs"),
        (lambda b: changed(b, ["gardening"], "support_needs"), 422, "/support_needs/0"),
        (lambda b: changed(b, [], "support_needs"), 422, "/support_needs"),
        (lambda b: changed(b, "the pub", "source"), 422, "/source"),
        (lambda b: changed(b, "not-an-email", "person", "contact", "email"), 422, "/person/contact/email"),
        (lambda b: changed(b, "fr", "person", "preferred_language"), 422, "/person/preferred_language"),
        (lambda b: changed(b, 42, "person", "given_name"), 422, "/person/given_name"),
        (lambda b: changed(b, "merthyr", "site"), 422, "/site"),
        (lambda b: changed(b, "narnia", "site"), 422, "/site"),
        (lambda b: changed(b, FIFTEEN_YEARS_AGO, "person", "date_of_birth"), 422, "/person/date_of_birth"),
        (lambda b: changed(b, False, "consent", "share_with_mentor"), 422, "/consent/share_with_mentor"),
        (lambda b: changed(b, None, "person", "contact", "email"), 422, "/person/contact/email"),
        (lambda b: {**b, "shoe_size": 9}, 422, "/shoe_size"),
    ],
)
def test_bad_input_gets_a_problem_pointing_at_the_field_and_writes_nothing(
    client, tokens, engine, body, mutate, status, pointer
):
    response = client.post("/referrals", json=mutate(body()), headers=tokens.header())
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert pointer in [error.get("pointer") for error in problem["errors"]], problem
    assert written(engine) == (0, 0, 0)


@pytest.mark.parametrize(
    ("headers", "data", "status"),
    [
        ({"Content-Type": "application/json"}, "{not json", 400),
        ({"Content-Type": "application/json"}, json.dumps({"pad": "x" * 70_000}), 413),
        ({"Content-Type": "text/plain"}, "hello", 415),
    ],
)
def test_malformed_and_oversized_bodies_are_refused_and_write_nothing(client, tokens, engine, headers, data, status):
    response = client.post("/referrals", data=data, headers={**tokens.header(), **headers})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert written(engine) == (0, 0, 0)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        (("coordinator", "merthyr"), 403),
        (("mentor", "ebbw-vale"), 403),
        (("central-reader", "ebbw-vale"), 403),
    ],
)
def test_only_this_sites_coordinators_and_services_may_refer(client, tokens, engine, body, who, status):
    headers = tokens.header(*who) if who else {}
    response = client.post("/referrals", json=body(), headers=headers)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert written(engine) == (0, 0, 0)
    assert client.get("/referrals", headers=headers).status_code == status


def test_an_unknown_referral_is_a_404_problem(client, tokens):
    response = client.get("/referrals/5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11", headers=tokens.header())
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_services_see_referrals_without_the_risk_flags(client, tokens, create):
    created = create()
    seen = client.get(f"/referrals/{created['id']}", headers=tokens.header("service")).get_json()
    assert "risk_flags" not in seen and "risk_note" not in seen
    listed = client.get("/referrals", headers=tokens.header("service")).get_json()["items"][0]
    assert "risk_note" not in listed


def test_the_same_person_referred_again_is_linked_and_flagged_not_created_twice(
    client, tokens, engine, create, body, someone
):
    first = create()
    again = body()
    again["person"] = {**again["person"], "given_name": "RHIAN", "contact": {"email": None, "channels": []}}
    second = create(again)
    assert second["person_id"] == first["person_id"]
    assert second["known_person"] is True and second["duplicate_pending"] is True
    assert second["duplicate_of"] == first["id"]  # the first is still open
    by_email = body()
    by_email["person"] = {**by_email["person"], "given_name": "Rhi", "date_of_birth": "1985-03-20"}
    assert create(by_email)["person_id"] == first["person_id"]
    # Another name, date of birth and email; her phone number written another way.
    by_phone = someone(5)
    by_phone["person"]["contact"] = {"email": "someone.else@example.org", "phone": "07700-900123", "channels": []}
    linked = create(by_phone)
    assert linked["person_id"] == first["person_id"] and linked["duplicate_pending"] is True
    check = client.get(f"/referrals/{linked['id']}/duplicate-check", headers=tokens.header()).get_json()
    assert check["matched_on"] == ["phone"]
    assert count_rows(engine, people) == 1
    assert count_rows(engine, referrals) == 4
    # Linked, never changed: her details are the ones she was first referred with.
    person = client.get(f"/people/{first['person_id']}", headers=tokens.header()).get_json()["person"]
    assert (person["given_name"], person["contact"]["email"]) == ("Rhian", "rhian@example.org")


def test_a_retried_post_with_the_same_idempotency_key_creates_one_referral(client, tokens, engine, body):
    headers = {**tokens.header(), "Idempotency-Key": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"}
    first = client.post("/referrals", json=body(), headers=headers)
    again = client.post("/referrals", json=body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(engine, referrals) == 1
    assert count_rows(engine, outbox) == 2
    different = client.post("/referrals", json=body(source="probation"), headers=headers)
    assert different.status_code == 422
    assert different.get_json()["errors"][0]["parameter"] == "Idempotency-Key"
    assert written(engine) == (1, 1, 2)  # the conflict wrote nothing
    malformed = client.post("/referrals", json=body(), headers={**tokens.header(), "Idempotency-Key": "x"})
    assert malformed.status_code == 400


KEY = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"


def test_a_request_that_lost_the_race_for_its_key_returns_the_referral_that_won(
    client, tokens, engine, body, monkeypatch
):
    headers = {**tokens.header(), "Idempotency-Key": KEY}
    first = client.post("/referrals", json=body(), headers=headers).get_json()
    # The second request looked for its key before the first had committed (so saw nothing),
    # then clashed with it on the unique key when inserting.
    looked = []
    real_lookup = store.referral_for_key

    def not_committed_yet(conn, key):
        looked.append(key)
        return None if len(looked) == 1 else real_lookup(conn, key)

    monkeypatch.setattr(store, "referral_for_key", not_committed_yet)
    again = client.post("/referrals", json=body(), headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first["id"]
    assert written(engine) == (1, 1, 2)


@sqlite_only
def test_a_201_after_a_clash_on_the_key_always_stands_for_a_referral_saved(client, tokens, engine, body, monkeypatch):
    """A clash with nothing behind it (the other request gone): the second try takes the referral
    and commits it. It ran without a commit before, and answered 201 for a referral rolled back."""
    clashes = []
    real_add = store.add_referral

    def clash_once(conn, referral, *, idempotency=None):
        if not clashes:
            clashes.append(referral.id)
            raise sa.exc.IntegrityError("INSERT INTO referrals", {}, Exception("duplicate key value"))
        return real_add(conn, referral, idempotency=idempotency)

    monkeypatch.setattr(store, "add_referral", clash_once)
    taken = client.post("/referrals", json=body(), headers={**tokens.header(), "Idempotency-Key": KEY})
    assert taken.status_code == 201, taken.get_json()
    assert written(engine) == (1, 1, 2)
    assert client.get(f"/referrals/{taken.get_json()['id']}", headers=tokens.header()).status_code == 200


@sqlite_only
def test_a_key_that_clashes_twice_is_a_409_and_writes_nothing(client, tokens, engine, body, monkeypatch):
    def always_clash(conn, referral, *, idempotency=None):
        raise sa.exc.IntegrityError("INSERT INTO referrals", {}, Exception("duplicate key value"))

    monkeypatch.setattr(store, "add_referral", always_clash)
    refused = client.post("/referrals", json=body(), headers={**tokens.header(), "Idempotency-Key": KEY})
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert written(engine) == (0, 0, 0)


@sqlite_only
def test_a_sixteenth_birthday_counts_from_midnight_in_wales_not_in_utc(client, tokens, engine, body, at):
    at(datetime(2026, 6, 14, 23, 30, tzinfo=UTC))  # 00:30 on 15 June in Wales (summer time)
    sixteen_today = body()
    sixteen_today["person"]["date_of_birth"] = "2010-06-15"
    taken = client.post("/referrals", json=sixteen_today, headers=tokens.header())
    assert taken.status_code == 201, taken.get_json()
    assert (taken.get_json()["age_band"], taken.get_json()["consent"]["review_on"]) == ("16-17", "2028-06-15")
    sixteen_tomorrow = body()
    sixteen_tomorrow["person"] = {**sixteen_tomorrow["person"], "given_name": "Elin", "date_of_birth": "2010-06-16"}
    sixteen_tomorrow["person"]["contact"] = {"email": "elin@example.org", "channels": ["email"]}
    refused = client.post("/referrals", json=sixteen_tomorrow, headers=tokens.header())
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["pointer"] == "/person/date_of_birth"
    assert written(engine) == (1, 1, 2)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=received", {"A", "B", "C"}),
        ("source=probation", {"B"}),
        ("need=housing", {"C"}),
        ("need=alcohol", {"A", "B"}),
        ("received_from=2000-01-01&received_to=2999-01-01", {"A", "B", "C"}),
        ("received_to=2000-01-01", set()),
    ],
)
def test_referrals_can_be_filtered(client, tokens, create, someone, query, expected):
    names = {}
    for n, overrides in enumerate([{}, {"source": "probation"}, {"support_needs": ["housing"]}]):
        names[create(someone(n, **overrides))["id"]] = chr(65 + n)
    page = client.get(f"/referrals?{query}", headers=tokens.header()).get_json()
    assert {names[item["id"]] for item in page["items"]} == expected
    assert page["total"] == len(expected)


def test_referrals_are_sorted_and_paged(client, tokens, create, someone):
    ids = [create(someone(n))["id"] for n in range(5)]
    newest_first = client.get("/referrals?limit=2", headers=tokens.header()).get_json()
    assert [i["id"] for i in newest_first["items"]] == ids[::-1][:2] and newest_first["total"] == 5
    oldest_first = client.get("/referrals?sort=received_at&limit=2&offset=2", headers=tokens.header()).get_json()
    assert [i["id"] for i in oldest_first["items"]] == ids[2:4]


def test_received_from_alone_and_the_sorts_by_acceptance_and_status(client, tokens, create, act, someone, at):
    made = {}
    for name, day in (("first", 1), ("second", 10), ("third", 20)):
        at(datetime(2026, 6, day, 10, 0, tzinfo=UTC))
        made[name] = create(someone(day))["id"]
    at(datetime(2026, 6, 21, 10, 0, tzinfo=UTC))
    act(made["third"], "accept")
    at(datetime(2026, 6, 22, 10, 0, tzinfo=UTC))
    act(made["first"], "accept")
    name_of = {referral_id: name for name, referral_id in made.items()}

    def listed(query):
        page = client.get(f"/referrals?{query}", headers=tokens.header()).get_json()
        return [name_of[item["id"]] for item in page["items"]]

    assert sorted(listed("received_from=2026-06-10")) == ["second", "third"]  # from the day on, inclusive
    assert listed("received_from=2026-06-21") == []
    # Never accepted comes last either way.
    assert listed("sort=accepted_at") == ["third", "first", "second"]
    assert listed("sort=-accepted_at") == ["first", "third", "second"]
    assert listed("sort=status")[-1] == "second" and listed("sort=-status")[0] == "second"
    statuses = [
        item["status"] for item in client.get("/referrals?sort=status", headers=tokens.header()).get_json()["items"]
    ]
    assert statuses == ["accepted", "accepted", "received"]


@pytest.mark.parametrize(
    "query",
    [
        "status=lost",
        "limit=0",
        "limit=1000",
        "offset=-1",
        # Past 2**63 it overflowed OFFSET in the database: a 500 before (found by schemathesis).
        "offset=9223372036854775808",
        "sort=name",
        "need=chess",
        "received_from=yesterday",
    ],
)
def test_bad_list_queries_are_problems(client, tokens, query):
    response = client.get(f"/referrals?{query}", headers=tokens.header())
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["parameter"]


def test_the_document_says_a_referral_needs_consent_to_share(client):
    """It said "a boolean", and every referral without consent is refused: now it says so."""
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert schemas["ConsentIn"]["properties"]["share_with_mentor"]["enum"] == [True]
