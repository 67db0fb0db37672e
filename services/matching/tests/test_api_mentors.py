"""The mentor registry over HTTP: registration, status, caseloads, and who may see what."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from matching.app import create_app
from matching.store import matches
from peerlink.tables import outbox
from peerlink.testing import count_rows, find_personal_data, settings_for
from peerlink.web.auth import new_token, token_entry


def test_a_registered_mentor_is_stored_with_their_contact_on_the_private_exchange_only(client, tokens, engine, body):
    response = client.post(
        "/mentors", json=body(person_id="0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f"), headers=tokens.header()
    )
    assert response.status_code == 201, response.get_json()
    mentor = response.get_json()
    assert mentor["status"] == "active" and mentor["can_be_matched"] and mentor["places_left"] == 2
    assert mentor["former_participant"] is True
    # The DBS renewal defaults to three years after the check.
    assert mentor["safeguarding"]["dbs_expires_on"] > mentor["safeguarding"]["dbs_checked_on"]
    with engine.connect() as conn:
        rows = {row.event_type: row for row in conn.execute(sa.select(outbox))}
    assert set(rows) == {"peerlink.mentor.registered.v1", "peerlink.mentor-contact.recorded.v1"}
    assert rows["peerlink.mentor.registered.v1"].exchange == "peerlink.events"
    assert rows["peerlink.mentor-contact.recorded.v1"].exchange == "peerlink.private"
    assert find_personal_data(rows["peerlink.mentor.registered.v1"].body, known=("Gareth", "Llewellyn")) == []
    assert "gareth@example.org" in rows["peerlink.mentor-contact.recorded.v1"].body
    assert client.get(f"/mentors/{mentor['id']}", headers=tokens.header()).get_json() == mentor


def test_the_service_role_reads_mentors_without_their_contact_details(client, tokens, register):
    mentor = register()
    seen = client.get(f"/mentors/{mentor['id']}", headers=tokens.header("service")).get_json()
    assert "contact" not in seen and seen["id"] == mentor["id"]
    listed = client.get("/mentors", headers=tokens.header("service")).get_json()
    assert listed["total"] == 1 and "contact" not in listed["items"][0]
    assert client.get(f"/mentors/{mentor['id']}", headers=tokens.header("facilitator")).status_code == 403


def test_a_mentor_token_reads_its_own_record_and_caseload_only(database_url, client, tokens, register):
    mine, other = register(), register()
    token = new_token()
    config = ",".join([tokens.config(), token_entry(token, "mentor", "ebbw-vale", mine["id"])])
    app = create_app(settings_for("matching", database_url=database_url, tokens=config))
    try:
        as_mentor = app.test_client()
        header = {"Authorization": f"Bearer {token}"}
        assert as_mentor.get(f"/mentors/{mine['id']}", headers=header).status_code == 200
        assert as_mentor.get(f"/mentors/{mine['id']}/caseload", headers=header).get_json()["capacity"] == 2
        assert as_mentor.get(f"/mentors/{other['id']}", headers=header).status_code == 403
        assert as_mentor.get(f"/mentors/{other['id']}/caseload", headers=header).status_code == 403
        assert as_mentor.get("/mentors", headers=header).status_code == 403
    finally:
        app.extensions["peerlink"].engine.dispose()


def test_a_safeguarding_gap_says_why_the_mentor_cannot_be_matched(client, tokens, register, body):
    untrained = register(safeguarding={**body()["safeguarding"], "training_completed_on": None})
    assert untrained["can_be_matched"] is False
    assert untrained["blocked_because"] == ["Has not completed mentor training."]
    listed = client.get("/mentors?can_be_matched=false", headers=tokens.header()).get_json()
    assert [m["id"] for m in listed["items"]] == [untrained["id"]]


def test_a_profile_change_writes_mentor_updated_and_a_contact_change_mentor_contact(client, tokens, register, emitted):
    mentor = register()
    response = client.patch(
        f"/mentors/{mentor['id']}",
        json={"capacity": 4, "interests": ["music"], "contact": {"email": "g.llewellyn@example.org"}},
        headers=tokens.header(),
    )
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["capacity"] == 4 and changed["interests"] == ["music"]
    assert changed["contact"]["email"] == "g.llewellyn@example.org" and changed["contact"]["given_name"] == "Gareth"
    assert [e["capacity"] for e in emitted("peerlink.mentor.updated.v1")] == [4]
    assert [e["email"] for e in emitted("peerlink.mentor-contact.recorded.v1")][-1] == "g.llewellyn@example.org"
    # A safeguarding-only change is site-local: no event.
    client.patch(
        f"/mentors/{mentor['id']}",
        json={"safeguarding": {"last_supervision_on": changed["registered_at"][:10]}},
        headers=tokens.header(),
    )
    assert len(emitted("peerlink.mentor.updated.v1")) == 1


def test_a_renewed_dbs_check_moves_its_renewal_date_on(client, tokens, register, body):
    """A new check date without a renewal date: three years after the new check, not the old
    expiry kept (which would block a mentor days after a fresh check)."""
    today = datetime.now(UTC).date()  # the day matching checks safeguarding on
    checked = today - timedelta(days=3 * 365 - 5)  # due for renewal in a few days
    mentor = register(safeguarding={**body()["safeguarding"], "dbs_checked_on": checked.isoformat()})
    new_check = {"safeguarding": {"dbs_checked_on": today.isoformat()}}
    renewed = client.patch(f"/mentors/{mentor['id']}", json=new_check, headers=tokens.header())
    assert renewed.status_code == 200, renewed.get_json()
    assert renewed.get_json()["safeguarding"]["dbs_expires_on"] == (today + relativedelta(years=3)).isoformat()
    # The same check date sent again (a whole record re-sent) keeps a renewal date given by hand.
    given = (today + timedelta(days=400)).isoformat()
    by_hand = client.patch(
        f"/mentors/{mentor['id']}", json={"safeguarding": {"dbs_expires_on": given}}, headers=tokens.header()
    )
    assert by_hand.status_code == 200, by_hand.get_json()
    resent = client.patch(f"/mentors/{mentor['id']}", json=new_check, headers=tokens.header())
    assert resent.get_json()["safeguarding"]["dbs_expires_on"] == given


def test_capacity_cannot_drop_below_the_mentees_a_mentor_has(client, tokens, register, waiting, post):
    mentor = register(capacity=2)
    for _ in range(2):
        assert post("/matches", request_id=waiting(), mentor_id=mentor["id"]).status_code == 201
    response = client.patch(f"/mentors/{mentor['id']}", json={"capacity": 1}, headers=tokens.header())
    assert response.status_code == 409
    assert response.get_json()["taken"] == 2


def test_pausing_a_mentor_puts_their_mentees_back_in_the_queue_with_priority(
    client, tokens, engine, register, waiting, post, emitted
):
    mentor = register(capacity=2)
    confirmed = post("/matches", request_id=waiting(), mentor_id=mentor["id"], confirm=True).get_json()
    proposed = post("/matches", request_id=waiting(), mentor_id=mentor["id"]).get_json()
    response = post(f"/mentors/{mentor['id']}/pause", reason="burnout")
    assert response.status_code == 200 and response.get_json()["status"] == "paused"
    assert response.get_json()["blocked_because"] == ["Is paused."]
    (paused,) = emitted("peerlink.mentor.paused.v1")
    assert paused["mentees_requeued"] == 2 and paused["reason"] == "burnout"
    assert [e["match_id"] for e in emitted("peerlink.match.ended.v1")] == [confirmed["id"]]
    assert emitted("peerlink.match.ended.v1")[0]["reason"] == "mentor-paused"
    assert [e["match_id"] for e in emitted("peerlink.match.cancelled.v1")] == [proposed["id"]]
    queue = client.get("/requests?status=waiting", headers=tokens.header()).get_json()["items"]
    assert {r["id"] for r in queue} == {confirmed["request_id"], proposed["request_id"]}
    assert all(r["urgent"] and r["requeued_from_mentor"] == mentor["id"] for r in queue)
    assert post(f"/mentors/{mentor['id']}/pause", reason="burnout").status_code == 409
    resumed = post(f"/mentors/{mentor['id']}/resume")
    assert resumed.get_json()["status"] == "active"
    assert emitted("peerlink.mentor.resumed.v1")
    assert count_rows(engine, matches, matches.c.status.in_(["proposed", "confirmed"])) == 0


def test_a_mentor_who_leaves_cannot_come_back(register, post, emitted):
    mentor = register()
    left = post(f"/mentors/{mentor['id']}/leave", reason="employment")
    assert left.status_code == 200 and left.get_json()["status"] == "left"
    assert emitted("peerlink.mentor.left.v1")[0]["mentees_requeued"] == 0
    refused = post(f"/mentors/{mentor['id']}/resume")
    assert refused.status_code == 409 and refused.get_json()["allowed_actions"] == []


def test_caseloads_and_the_spread_of_load(client, tokens, register, waiting, post):
    busy, idle = register(capacity=2), register(capacity=2)
    post("/matches", request_id=waiting(), mentor_id=busy["id"], confirm=True)
    post("/matches", request_id=waiting(), mentor_id=busy["id"])
    figures = client.get("/mentors/caseloads", headers=tokens.header()).get_json()
    assert [(i["mentor_id"], i["confirmed"], i["proposed"]) for i in figures["items"]] == [
        (busy["id"], 1, 1),
        (idle["id"], 0, 0),
    ]
    fairness = figures["fairness"]
    assert fairness["mentors"] == 2 and fairness["full"] == 1 and fairness["idle"] == 1
    assert fairness["spread"] == 1.0 and fairness["gini"] == 0.5 and fairness["over_capacity"] == 0
    caseload = client.get(f"/mentors/{busy['id']}/caseload", headers=tokens.header()).get_json()
    assert caseload["places_left"] == 0 and {i["status"] for i in caseload["items"]} == {"confirmed", "proposed"}
    assert caseload["items"][0]["support_needs"] == ["alcohol", "isolation"]


def test_registering_twice_with_one_idempotency_key_makes_one_mentor(client, tokens, engine, body):
    headers = {**tokens.header(), "Idempotency-Key": "mentor-2026-0001"}
    first = client.post("/mentors", json=body(), headers=headers)
    again = client.post("/mentors", json=body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json()["id"] == first.get_json()["id"]
    other = client.post("/mentors", json=body(capacity=5), headers=headers)
    assert other.status_code == 422 and other.mimetype == "application/problem+json"
    assert count_rows(engine, outbox) == 2
