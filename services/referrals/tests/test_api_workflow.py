"""Triage over HTTP: every transition recorded with its event; illegal ones refused with what is allowed."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import count_rows, sqlite_only
from referrals.store import check_ins as check_in_rows
from referrals.store import transitions as referral_transitions

UNKNOWN = "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11"
ANSWERS = {"coping": 3, "connected": 3, "hopeful": 3, "health": 3}


def written(engine):
    return count_rows(engine, referral_transitions), count_rows(engine, check_in_rows), count_rows(engine, outbox)


def events_of(engine, referral_id):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.body).where(outbox.c.subject == referral_id).order_by(outbox.c.position))
        return [parse_envelope(body) for body in rows.scalars()]


def test_accepting_puts_the_person_on_the_waiting_list_with_an_event_for_matching(client, tokens, engine, create, act):
    referral = create()
    response = act(referral["id"], "accept", priority=True, note="Urgent: recently released")
    assert response.status_code == 200, response.get_json()
    accepted = response.get_json()
    assert accepted["status"] == "accepted" and accepted["priority"] is True
    assert accepted["allowed_actions"] == ["withdraw"]  # matching moves it on, not people
    event = events_of(engine, referral["id"])[-1]
    assert event.type == "peerlink.referral.accepted.v1"
    assert event.data["interests"] == ["art"] and event.data["availability"] == ["tue-pm"]
    assert event.data["preferences"] == {"mentor_gender": "female", "welsh_speaking_mentor": True}
    assert event.data["priority"] is True and event.data["reentry"] is False
    assert "Urgent" not in json.dumps(event.data)  # the note stays here
    history = client.get(f"/referrals/{referral['id']}/transitions", headers=tokens.header()).get_json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [("accept", "received", "accepted")]
    assert history[0]["note"] == "Urgent: recently released"
    assert history[0]["actor"] == "coordinator"


@pytest.mark.parametrize(
    ("path", "event_type", "field", "value"),
    [
        (["decline:reason=needs-another-service"], "declined", "reason", "needs-another-service"),
        (["withdraw:reason=by-person"], "withdrawn", "from_status", "received"),
        (["accept", "withdraw:reason=no-longer-needed"], "withdrawn", "from_status", "accepted"),
    ],
)
def test_each_transition_emits_its_event(create, act, engine, path, event_type, field, value):
    referral = create()
    for step in path:
        action, _, argument = step.partition(":")
        body = dict([argument.split("=")]) if argument else {}
        assert act(referral["id"], action, **body).status_code == 200
    event = events_of(engine, referral["id"])[-1]
    assert event.type == f"peerlink.referral.{event_type}.v1"
    assert event.data[field] == value
    assert event.sequence == len(path) + 1  # received, then one a step


@pytest.mark.parametrize(
    ("setup", "action", "body", "allowed"),
    [
        ([], "start", {}, ["accept", "decline", "withdraw"]),
        ([], "close", {"outcome": "completed"}, ["accept", "decline", "withdraw"]),
        (["accept"], "accept", {}, ["withdraw"]),
        (["decline:reason=other"], "accept", {}, []),
        (["withdraw:reason=by-person"], "reopen", {}, []),
    ],
)
def test_an_illegal_transition_is_a_409_naming_what_is_allowed_and_changes_nothing(
    client, tokens, engine, create, act, setup, action, body, allowed
):
    referral = create()
    for step in setup:
        name, _, argument = step.partition(":")
        act(referral["id"], name, **(dict([argument.split("=")]) if argument else {}))
    before = count_rows(engine, referral_transitions), count_rows(engine, outbox)
    response = act(referral["id"], action, **body)
    assert response.status_code == 409
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert problem["allowed_actions"] == allowed
    assert (count_rows(engine, referral_transitions), count_rows(engine, outbox)) == before


@pytest.mark.parametrize(
    ("action", "body", "pointer"),
    [
        ("decline", {}, "/reason"),
        ("decline", {"reason": "bored"}, "/reason"),
        ("withdraw", {"reason": 3}, "/reason"),
        ("close", {"outcome": "graduated"}, "/outcome"),
        ("accept", {"priority": "yes please"}, "/priority"),
        ("accept", {"note": "x" * 2001}, "/note"),
    ],
)
def test_bad_transition_bodies_are_422_problems_and_write_nothing(engine, create, act, action, body, pointer):
    referral = create()
    before = written(engine)
    response = act(referral["id"], action, **body)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.get_json()["errors"]]
    assert written(engine) == before


TRANSITION_BODIES = {
    "accept": {},
    "decline": {"reason": "other"},
    "withdraw": {"reason": "by-person"},
    "start": {},
    "close": {"outcome": "completed"},
    "reopen": {},
}


@sqlite_only
def test_an_unknown_referral_is_404_for_every_transition(engine, act):
    for action, body in TRANSITION_BODIES.items():
        response = act(UNKNOWN, action, **body)
        assert response.status_code == 404, action
        assert response.mimetype == "application/problem+json"
    assert written(engine) == (0, 0, 0)


@sqlite_only
def test_an_unknown_referral_has_no_history_and_no_check_ins(client, tokens, engine):
    for method, path, body in (
        ("GET", f"/referrals/{UNKNOWN}/transitions", None),
        ("GET", f"/referrals/{UNKNOWN}/check-ins", None),
        ("POST", f"/referrals/{UNKNOWN}/check-ins", {"timepoint": "baseline", "answers": ANSWERS}),
    ):
        response = client.open(path, method=method, json=body, headers=tokens.header())
        assert response.status_code == 404, (method, path)
        assert response.mimetype == "application/problem+json"
    assert written(engine) == (0, 0, 0)


def test_the_waiting_list_orders_by_priority_then_wait_and_shows_days_waiting(client, tokens, create, act, someone):
    first = create(someone(0))
    second = create(someone(1))
    urgent = create(someone(2))
    for referral, priority in ((first, False), (second, False), (urgent, True)):
        act(referral["id"], "accept", priority=priority)
    create(someone(3))  # received, not accepted: not waiting
    listed = client.get("/waiting-list", headers=tokens.header()).get_json()
    assert [w["referral_id"] for w in listed["items"]] == [urgent["id"], first["id"], second["id"]]
    assert all(w["days_waiting"] == 0 for w in listed["items"])
    assert (listed["waiting"], listed["priority"]) == (3, 1)
    assert listed["median_wait_days"] is None  # nobody matched yet


def test_the_median_wait_is_the_middle_of_the_waits_people_really_had(
    client, tokens, create, act, someone, at, confirm_match
):
    today = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
    at(today - timedelta(days=11))
    longer, shorter = create(someone(0)), create(someone(1))
    at(today - timedelta(days=10))
    act(longer["id"], "accept")
    at(today - timedelta(days=4))
    act(shorter["id"], "accept")
    at(today)
    waiting = client.get("/waiting-list", headers=tokens.header()).get_json()
    assert [w["days_waiting"] for w in waiting["items"]] == [10, 4]
    confirm_match(longer, today)
    confirm_match(shorter, today)
    listed = client.get("/waiting-list", headers=tokens.header()).get_json()
    assert (listed["median_wait_days"], listed["matches_counted"], listed["items"]) == (7.0, 2, [])


def test_check_ins_record_the_change_since_baseline(client, tokens, engine, create, act):
    referral = create()
    act(referral["id"], "accept")
    scale = client.get("/outcome-scale", headers=tokens.header()).get_json()
    assert scale["id"] == "peerlink-wellbeing-4" and all(item["cy"] for item in scale["items"])
    answers = {item["code"]: 2 for item in scale["items"]}
    url = f"/referrals/{referral['id']}/check-ins"
    baseline = client.post(url, json={"timepoint": "baseline", "answers": answers}, headers=tokens.header())
    assert baseline.status_code == 201, baseline.get_json()
    review = client.post(
        url, json={"timepoint": "review", "answers": {k: 4 for k in answers}}, headers=tokens.header()
    ).get_json()
    assert (review["score"], review["baseline_score"], review["change"], review["maximum"]) == (16, 8, 8, 20)
    listed = client.get(url, headers=tokens.header()).get_json()
    assert [c["timepoint"] for c in listed["items"]] == ["baseline", "review"]
    assert listed["next_due"]
    events = [e for e in _all_events(engine) if e.type == "peerlink.outcome.recorded.v1"]
    assert [e.data["change"] for e in events] == [None, 8]


def _all_events(engine):
    with engine.connect() as conn:
        return [parse_envelope(b) for b in conn.execute(sa.select(outbox.c.body).order_by(outbox.c.position)).scalars()]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"timepoint": "baseline", "answers": {"coping": 3}}, 422),
        ({"timepoint": "someday", "answers": {}}, 422),
        ({"timepoint": "baseline", "answers": {"coping": "3", "connected": 3, "hopeful": 3, "health": 3}}, 422),
        ({"timepoint": "baseline", "answers": {"coping": 9, "connected": 3, "hopeful": 3, "health": 3}}, 422),
    ],
)
def test_bad_check_ins_are_refused_and_write_nothing(client, tokens, engine, create, act, body, status):
    referral = create()
    act(referral["id"], "accept")
    before = written(engine)
    response = client.post(f"/referrals/{referral['id']}/check-ins", json=body, headers=tokens.header())
    assert response.status_code == status
    assert response.get_json()["errors"]
    assert written(engine) == before


def test_a_referral_still_in_triage_has_no_check_ins(client, tokens, engine, create):
    referral = create()
    before = written(engine)
    response = client.post(
        f"/referrals/{referral['id']}/check-ins",
        json={"timepoint": "baseline", "answers": ANSWERS},
        headers=tokens.header(),
    )
    assert response.status_code == 422
    assert written(engine) == before


@sqlite_only
def test_a_closing_check_in_is_taken_once_the_referral_is_closed(client, tokens, engine, create, act, confirm_match):
    referral = create()
    url = f"/referrals/{referral['id']}/check-ins"
    act(referral["id"], "accept")
    assert (
        client.post(url, json={"timepoint": "baseline", "answers": ANSWERS}, headers=tokens.header()).status_code == 201
    )
    confirm_match(referral, datetime.now(UTC))
    assert act(referral["id"], "start").status_code == 200
    assert act(referral["id"], "close", outcome="completed").status_code == 200
    closing = client.post(
        url, json={"timepoint": "closing", "answers": {**ANSWERS, "hopeful": 5}}, headers=tokens.header()
    )
    assert closing.status_code == 201, closing.get_json()
    assert (closing.get_json()["score"], closing.get_json()["change"]) == (14, 2)
    listed = client.get(url, headers=tokens.header()).get_json()
    assert [c["timepoint"] for c in listed["items"]] == ["baseline", "closing"]
    assert listed["next_due"] is None  # closed: nothing more is due
    recorded = [e for e in _all_events(engine) if e.type == "peerlink.outcome.recorded.v1"]
    assert [(e.data["timepoint"], e.data["change"]) for e in recorded] == [("baseline", None), ("closing", 2)]
