"""Who read or changed a mentor's record: every read and change leaves an entry (who, what,
when, correlation id); a refused change leaves none; only coordinators read the trail."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from matching.store import audit_log
from peerlink.testing import Tokens, sqlite_only
from peerlink.web.auth import token_entry

LABEL = "sian.hughes"  # labels carry no spaces (PEERLINK_API_TOKENS splits on them)


class LabelledTokens(Tokens):
    """The fixture's tokens plus a coordinator token with a label, as an operator issues them."""

    labelled = "labelled-coordinator-token-for-the-audit-test"

    def config(self) -> str:
        return f"{super().config()},{token_entry(self.labelled, 'coordinator', 'ebbw-vale', LABEL)}"


@pytest.fixture
def tokens() -> LabelledTokens:
    issued = LabelledTokens()
    for role in ("coordinator", "mentor", "facilitator", "central-reader", "service"):
        issued.token(role, "ebbw-vale")
    return issued


def sian(correlation: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {LabelledTokens.labelled}", "X-Correlation-ID": correlation}


def test_each_read_and_change_of_a_mentors_record_leaves_who_what_when_and_correlation(client, tokens, register):
    before = datetime.now(UTC)
    mentor = register()
    ids = [str(uuid.uuid4()) for _ in range(5)]
    assert client.get(f"/mentors/{mentor['id']}", headers=sian(ids[0])).status_code == 200
    assert client.patch(f"/mentors/{mentor['id']}", json={"capacity": 3}, headers=sian(ids[1])).status_code == 200
    assert (
        client.post(f"/mentors/{mentor['id']}/pause", json={"reason": "burnout"}, headers=sian(ids[2])).status_code
        == 200
    )
    assert client.get("/mentors", headers=tokens.header("service")).status_code == 200
    assert client.get(f"/mentors/{mentor['id']}/caseload", headers=sian(ids[3])).status_code == 200
    trail = client.get(f"/mentors/{mentor['id']}/audit", headers=sian(ids[4]))
    assert trail.status_code == 200, trail.get_json()
    entries = trail.get_json()["items"][::-1]  # oldest first
    assert [(e["action"], e["what"], e["actor"], e["role"], e["correlation_id"]) for e in entries] == [
        ("change", "POST /mentors", "coordinator", "coordinator", entries[0]["correlation_id"]),
        ("read", "GET /mentors/<uuid:mentor_id>", LABEL, "coordinator", ids[0]),
        ("change", "PATCH /mentors/<uuid:mentor_id>", LABEL, "coordinator", ids[1]),
        ("change", "POST /mentors/<uuid:mentor_id>/pause", LABEL, "coordinator", ids[2]),
        ("read", "GET /mentors", "service", "service", entries[4]["correlation_id"]),
        ("read", "GET /mentors/<uuid:mentor_id>/caseload", LABEL, "coordinator", ids[3]),
    ]
    assert all(e["subject_kind"] == "mentor" and e["subject_id"] == mentor["id"] for e in entries)
    assert all(before <= datetime.fromisoformat(e["at"]) <= datetime.now(UTC) for e in entries)
    # Reading the trail is itself recorded (after the page it showed).
    again = client.get(f"/mentors/{mentor['id']}/audit?limit=1", headers=sian(str(uuid.uuid4()))).get_json()
    assert again["total"] == 7 and again["items"][0]["what"] == "GET /mentors/<uuid:mentor_id>/audit"
    print(f"entries: {again['total']}")


def test_a_refused_change_leaves_no_entry_and_the_trail_holds_no_contact_details(client, tokens, register, engine):
    mentor = register()
    header = tokens.header()
    assert client.post(f"/mentors/{mentor['id']}/resume", json={}, headers=header).status_code == 409  # active
    assert client.post(f"/mentors/{mentor['id']}/leave", json={"reason": "moved-on"}, headers=header).status_code == 200
    assert client.patch(f"/mentors/{mentor['id']}", json={"capacity": 1}, headers=header).status_code == 409  # left
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.position)).all()
    assert [r.what for r in rows] == ["POST /mentors", "POST /mentors/<uuid:mentor_id>/leave"]
    text = " ".join(str(value) for row in rows for value in row)
    assert not any(detail in text for detail in ("Gareth", "Llewellyn", "gareth@example.org", "900456"))
    print(f"requests: 4, refused: 2, entries: {len(rows)}")


def test_only_a_coordinator_reads_the_trail_of_a_known_mentor(client, tokens, register):
    mentor = register()
    path = f"/mentors/{mentor['id']}/audit"
    for role in ("service", "mentor", "facilitator"):
        assert client.get(path, headers=tokens.header(role)).status_code == 403
    unknown = client.get(f"/mentors/{uuid.uuid4()}/audit", headers=tokens.header())
    assert unknown.status_code == 404 and unknown.content_type == "application/problem+json"
    assert client.get(f"{path}?limit=0", headers=tokens.header()).status_code == 422
    page = client.get(f"{path}?limit=1&offset=0", headers=tokens.header()).get_json()
    assert page["total"] == 1 and len(page["items"]) == 1


@sqlite_only  # no storage question in it
def test_suggestions_record_a_read_of_each_mentor_they_name_for_the_request(client, register, waiting, engine, body):
    request_id = waiting()
    register(), register()  # both could take the person; only the best is shown with limit=1
    unchecked = register(safeguarding={**body()["safeguarding"], "dbs_checked_on": None})
    correlation = str(uuid.uuid4())
    shown = client.get(f"/requests/{request_id}/suggestions?limit=1", headers=sian(correlation)).get_json()
    assert [e["mentor_id"] for e in shown["excluded"]] == [unchecked["id"]]
    named = {shown["suggestions"][0]["mentor_id"], unchecked["id"]}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log).where(audit_log.c.what == "GET /requests/<uuid:request_id>/suggestions")
        ).all()
    assert sorted((str(r.subject_id), str(r.related_id), r.subject_kind, r.action, r.actor) for r in rows) == sorted(
        (mentor_id, request_id, "mentor", "read", LABEL) for mentor_id in named
    )
    assert {r.correlation_id for r in rows} == {correlation}
