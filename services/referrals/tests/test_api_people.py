"""People: the timeline, peer advocacy (three at most), and the right to erasure."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import count_rows, sqlite_only
from referrals.store import advocacy_issues, people
from referrals.store import referrals as referral_rows

UNKNOWN = "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11"


def open_issue(client, tokens, person_id, category="housing", summary="Rent arrears letter"):
    return client.post(
        f"/people/{person_id}/advocacy-issues", json={"category": category, "summary": summary}, headers=tokens.header()
    )


def test_a_fourth_open_advocacy_issue_is_refused_naming_the_three_open(client, tokens, create):
    person = create()["person_id"]
    opened = [open_issue(client, tokens, person, c).get_json() for c in ("housing", "benefits", "debt")]
    refused = open_issue(client, tokens, person, "legal")
    assert refused.status_code == 409
    problem = refused.get_json()
    assert [i["category"] for i in problem["open_issues"]] == ["housing", "benefits", "debt"]
    assert "housing" in problem["detail"]
    resolved = client.post(
        f"/people/{person}/advocacy-issues/{opened[0]['id']}/resolve",
        json={"resolution": "resolved"},
        headers=tokens.header(),
    )
    assert resolved.status_code == 200 and resolved.get_json()["is_open"] is False
    assert open_issue(client, tokens, person, "legal").status_code == 201
    listed = client.get(f"/people/{person}/advocacy-issues", headers=tokens.header()).get_json()
    assert [(i["category"], i["is_open"]) for i in listed] == [
        ("housing", False),
        ("benefits", True),
        ("debt", True),
        ("legal", True),
    ]


def written(engine):
    return count_rows(engine, advocacy_issues), count_rows(engine, outbox)


def test_an_issue_resolved_twice_is_a_conflict_and_bad_bodies_are_422_writing_nothing(client, tokens, engine, create):
    person = create()["person_id"]
    issue = open_issue(client, tokens, person).get_json()
    url = f"/people/{person}/advocacy-issues/{issue['id']}/resolve"
    assert client.post(url, json={"resolution": "resolved"}, headers=tokens.header()).status_code == 200
    before = written(engine)
    assert client.post(url, json={"resolution": "resolved"}, headers=tokens.header()).status_code == 409
    assert client.post(url, json={"resolution": "sorted"}, headers=tokens.header()).status_code == 422
    assert open_issue(client, tokens, person, category="aliens").status_code == 422
    assert open_issue(client, tokens, person, summary="").status_code == 422
    assert open_issue(client, tokens, UNKNOWN).status_code == 404
    assert written(engine) == before


@sqlite_only  # no storage question in it
def test_unknown_people_and_issues_are_404_problems(client, tokens, engine, create):
    person = create()["person_id"]
    before = written(engine), count_rows(engine, people)
    for response in (
        client.delete(f"/people/{UNKNOWN}", headers=tokens.header()),
        client.post(
            f"/people/{person}/advocacy-issues/{UNKNOWN}/resolve",
            json={"resolution": "resolved"},
            headers=tokens.header(),
        ),
        client.post(
            f"/people/{UNKNOWN}/advocacy-issues/{UNKNOWN}/resolve",
            json={"resolution": "resolved"},
            headers=tokens.header(),
        ),
        client.get(f"/people/{UNKNOWN}/advocacy-issues", headers=tokens.header()),
    ):
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert (written(engine), count_rows(engine, people)) == before


def test_advocacy_events_carry_codes_never_the_summary(client, tokens, engine, create):
    person = create()["person_id"]
    open_issue(client, tokens, person, summary="Landlord at 12 Heol y Bryn")
    with engine.connect() as conn:
        body = conn.execute(
            sa.select(outbox.c.body).where(outbox.c.event_type == "peerlink.advocacy.opened.v1")
        ).scalar_one()
    assert "Heol y Bryn" not in body
    assert parse_envelope(body).data["category"] == "housing"


def test_the_timeline_tells_the_persons_story_in_order(client, tokens, create, act):
    referral = create()
    act(referral["id"], "accept")
    open_issue(client, tokens, referral["person_id"])
    timeline = client.get(f"/people/{referral['person_id']}", headers=tokens.header()).get_json()
    assert timeline["person"]["given_name"] == "Rhian"
    assert [e["kind"] for e in timeline["timeline"]] == ["referral", "transition", "advocacy-opened"]
    assert timeline["referrals"][0]["status"] == "accepted"
    assert client.get(f"/people/{UNKNOWN}", headers=tokens.header()).status_code == 404


def every_value_in_the_database(engine):
    """Every value of every row of every table of the referrals database, as text."""
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return {
            (table.name, str(value))
            for table in tables.sorted_tables
            for row in conn.execute(sa.select(table))
            for value in row
            if value is not None
        }


def test_erasure_removes_personal_data_keeps_the_counts_and_tells_the_others(client, tokens, engine, create, act, body):
    # Everything personal a person can leave behind: her intake (with a risk flag and note and
    # an Idempotency-Key), a coordinator's note, an advocacy summary, a check-in, and a second
    # referral linked to her as a possible duplicate with a stranger's details, still open.
    referral = client.post(
        "/referrals", json=body(), headers={**tokens.header(), "Idempotency-Key": "erase-me-0001"}
    ).get_json()
    act(referral["id"], "accept", note="Lives with her sister")
    issue = open_issue(client, tokens, referral["person_id"], summary="Her sister's tenancy").get_json()
    client.post(
        f"/referrals/{referral['id']}/check-ins",
        json={"timepoint": "baseline", "answers": {"coping": 2, "connected": 2, "hopeful": 2, "health": 2}},
        headers=tokens.header(),
    )
    linked = body()
    linked["person"]["contact"] = {"email": "someone.else@example.net", "phone": "07700 900777", "channels": ["email"]}
    client.post("/referrals", json=linked, headers=tokens.header())
    person = referral["person_id"]
    assert client.delete(f"/people/{person}", headers=tokens.header()).status_code == 204
    # Nothing new is written about her afterwards: no advocacy summary, no resolution.
    late = open_issue(client, tokens, person, summary="Her sister's tenancy, again")
    assert late.status_code == 409 and "nothing more is recorded" in late.get_json()["detail"]
    resolution = client.post(
        f"/people/{person}/advocacy-issues/{issue['id']}/resolve",
        json={"resolution": "resolved"},
        headers=tokens.header(),
    )
    assert resolution.status_code == 409

    # Searched for in every table, the outbox (sent or not) and the audit trail included.
    hers = ("Rhian", "Pritchard", "1985-03-02", "rhian@example.org", "900123", "someone.else@example.net", "900777")
    words = ("Prefers meetings in the café", "Lives with her sister", "sister's tenancy", "lone-working-risk")
    found = [
        (table, value) for table, value in every_value_in_the_database(engine) if any(w in value for w in hers + words)
    ]
    assert found == []
    with engine.connect() as conn:
        row = conn.execute(sa.select(people)).one()
        assert (row.given_name, row.family_name, row.date_of_birth, row.email, row.phone) == (
            "[erased]",
            "[erased]",
            None,
            None,
            None,
        )
        # The intake's fingerprint (a hash of her details) goes too: a replay gets no referral back.
        assert set(conn.execute(sa.select(referral_rows.c.request_fingerprint)).scalars()) == {None}
        # The pseudonymous counts stay: the referrals, now withdrawn, with their codes.
        kept = conn.execute(sa.select(referral_rows.c.status, referral_rows.c.source)).all()
        assert [tuple(k) for k in kept] == [("withdrawn", "gp"), ("withdrawn", "gp")]
        types = [
            parse_envelope(b).type for b in conn.execute(sa.select(outbox.c.body).order_by(outbox.c.position)).scalars()
        ]
    assert "peerlink.contact.recorded.v1" not in types  # never to be published now
    assert types[-3:] == [
        "peerlink.referral.withdrawn.v1",
        "peerlink.referral.withdrawn.v1",
        "peerlink.person.erased.v1",
    ]
    replay = client.post("/referrals", json=body(), headers={**tokens.header(), "Idempotency-Key": "erase-me-0001"})
    assert replay.status_code == 422
    # Erasing again is harmless, and the erased person is not matched as a duplicate any more.
    assert client.delete(f"/people/{person}", headers=tokens.header()).status_code == 204
    again = client.post("/referrals", json=body(), headers=tokens.header()).get_json()
    assert again["person_id"] != person and again["known_person"] is False


def test_nothing_new_is_recorded_about_an_erased_person(client, tokens, engine, create, act, confirm_match):
    """Her closed referral stays closed: reopened, it would put a nameless person on the
    waiting list and her needs on the wire; a check-in would record her answers again."""
    referral = create()
    act(referral["id"], "accept")
    confirm_match(referral, datetime.now(UTC))
    act(referral["id"], "start")
    assert act(referral["id"], "close", outcome="completed").status_code == 200
    person = referral["person_id"]
    assert client.delete(f"/people/{person}", headers=tokens.header()).status_code == 204
    before = every_value_in_the_database(engine)
    refused = [
        act(referral["id"], "reopen", note="She rang the office again"),
        act(referral["id"], "withdraw", reason="by-person"),
        client.post(
            f"/referrals/{referral['id']}/check-ins",
            json={"timepoint": "closing", "answers": {"coping": 4, "connected": 4, "hopeful": 4, "health": 4}},
            headers=tokens.header(),
        ),
        open_issue(client, tokens, person, summary="Her sister's tenancy"),
    ]
    assert [r.status_code for r in refused] == [409, 409, 409, 409]
    assert all("nothing more is recorded" in r.get_json()["detail"] for r in refused)
    assert every_value_in_the_database(engine) == before


@pytest.mark.parametrize("role", ["mentor", "facilitator", "service", "central-reader"])
def test_only_coordinators_see_and_change_people(client, tokens, create, role):
    person = create()["person_id"]
    headers = tokens.header(role)
    assert client.get(f"/people/{person}", headers=headers).status_code == 403
    assert client.delete(f"/people/{person}", headers=headers).status_code == 403
    assert client.get(f"/people/{person}/advocacy-issues", headers=headers).status_code == 403


def test_every_read_and_change_of_a_persons_record_is_in_the_audit_log(client, tokens, create, act, someone):
    first = create(someone(1))
    other = create(someone(2))
    person = first["person_id"]
    header = tokens.header()
    act(first["id"], "accept", note="seen at the drop-in")
    client.get(f"/people/{person}", headers=header)
    client.get(f"/referrals/{first['id']}", headers=tokens.header("service"))
    client.get("/referrals?limit=10", headers=header)
    client.post(f"/people/{person}/advocacy-issues", json={"category": "debt", "summary": "x"}, headers=header)
    log = client.get(f"/people/{person}/audit", headers=header)
    assert log.status_code == 200
    entries = log.get_json()["items"][::-1]  # oldest first
    assert [(e["action"], e["what"], e["role"]) for e in entries] == [
        ("change", "POST /referrals", "coordinator"),
        ("change", "POST /referrals/<uuid:referral_id>/accept", "coordinator"),
        ("read", "GET /people/<uuid:person_id>", "coordinator"),
        ("read", "GET /referrals/<uuid:referral_id>", "service"),
        ("read", "GET /referrals", "coordinator"),
        ("change", "POST /people/<uuid:person_id>/advocacy-issues", "coordinator"),
    ]
    assert all(e["referral_id"] in (first["id"], None) for e in entries)
    # Another person's log has only their own entries (their intake, the list that showed them).
    theirs = client.get(f"/people/{other['person_id']}/audit", headers=header).get_json()["items"]
    assert [e["what"] for e in theirs][::-1] == ["POST /referrals", "GET /referrals"]


def test_the_audit_log_outlives_an_erasure_and_is_for_coordinators_only(client, tokens, create):
    person = create()["person_id"]
    assert client.delete(f"/people/{person}", headers=tokens.header()).status_code == 204
    entries = client.get(f"/people/{person}/audit", headers=tokens.header()).get_json()["items"]
    assert entries[0]["action"] == "erase"
    assert client.get(f"/people/{person}/audit", headers=tokens.header("service")).status_code == 403
    unknown = client.get("/people/0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f/audit", headers=tokens.header())
    assert unknown.status_code == 404
    assert client.get(f"/people/{person}/audit?limit=0", headers=tokens.header()).status_code == 422
    # Past 2**63 the offset overflowed OFFSET in the database: a 500 before (found by schemathesis).
    assert client.get(f"/people/{person}/audit?offset={2**63}", headers=tokens.header()).status_code == 422
