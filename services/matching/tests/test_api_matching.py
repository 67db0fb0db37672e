"""Suggestions, the match lifecycle, whole-group runs, feedback and the policy, over HTTP."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from matching.store import audit_log, do_not_match, matches
from peerlink.tables import outbox
from peerlink.testing import count_rows, sqlite_only


def test_suggestions_rank_the_eligible_and_say_why_every_other_mentor_is_excluded(
    client, tokens, register, waiting, body
):
    request_id = waiting(
        preferred_language="cy", preferences={"mentor_gender": "female", "welsh_speaking_mentor": True}
    )
    best = register(gender="female", contact={**body()["contact"], "given_name": "Rhiannon"})
    second = register(gender="female", lived_experience=["trauma"], interests=["music"])
    register(gender="male")
    register(gender="female", languages=["en"])
    register(gender="female", safeguarding={**body()["safeguarding"], "dbs_checked_on": None})
    found = client.get(f"/requests/{request_id}/suggestions", headers=tokens.header()).get_json()
    assert [s["mentor_id"] for s in found["suggestions"]] == [best["id"], second["id"]]
    top = found["suggestions"][0]
    assert top["rank"] == 1 and top["given_name"] == "Rhiannon"
    contributions = {c["criterion"]: c for c in top["contributions"]}
    assert contributions["lived_experience"]["reason"] == "Shares lived experience of alcohol."
    assert contributions["language"]["reason"] == "Speaks Welsh, the person's language."
    assert top["score"] == pytest.approx(sum(c["points"] for c in top["contributions"]), abs=1e-5)
    reasons = sorted(r["reason"] for e in found["excluded"] for r in e["reasons"])
    assert reasons == [
        "Does not speak Welsh, which the person needs.",
        "Has no DBS check recorded.",
        "The person asked for a female mentor.",
    ]
    assert sum(found["weights"].values()) == pytest.approx(1.0)


def test_a_match_is_proposed_confirmed_and_ended_with_every_decision_recorded(
    client, tokens, register, waiting, post, emitted
):
    mentor, request_id = register(), waiting()
    proposed = post("/matches", request_id=request_id, mentor_id=mentor["id"])
    assert proposed.status_code == 201, proposed.get_json()
    match = proposed.get_json()
    assert (
        match["status"] == "proposed"
        and match["method"] == "manual"
        and match["allowed_actions"]
        == [
            "confirm",
            "decline",
        ]
    )
    assert set(match["breakdown"]) >= {"lived_experience", "interests", "language", "availability", "current_load"}
    request = client.get(f"/requests/{request_id}", headers=tokens.header()).get_json()
    assert request["status"] == "proposed" and request["current_match_id"] == match["id"]
    confirmed = post(f"/matches/{match['id']}/confirm").get_json()
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_by"] == "coordinator"
    assert client.get(f"/requests/{request_id}", headers=tokens.header()).get_json()["status"] == "matched"
    ended = post(f"/matches/{match['id']}/end", reason="not-a-fit").get_json()
    assert ended["status"] == "ended" and ended["end_reason"] == "not-a-fit"
    assert client.get(f"/requests/{request_id}", headers=tokens.header()).get_json()["status"] == "waiting"
    (event,) = emitted("peerlink.match.ended.v1")
    assert event["reason"] == "not-a-fit" and event["referral_id"] == request_id and event["never_pair_again"] is False
    assert [e["match_id"] for e in emitted("peerlink.match.confirmed.v1")] == [match["id"]]
    assert emitted("peerlink.match.proposed.v1")[0]["score"] == pytest.approx(match["score"], abs=1e-6)
    # Not a fit: the same pair is not suggested again.
    suggestions = client.get(f"/requests/{request_id}/suggestions", headers=tokens.header()).get_json()
    assert suggestions["suggestions"] == []
    assert "ended: not a fit" in suggestions["excluded"][0]["reasons"][0]["reason"]
    assert post(f"/matches/{match['id']}/confirm").status_code == 409


def test_a_declined_proposal_puts_the_person_back_and_is_not_proposed_again(
    client, tokens, register, waiting, post, emitted
):
    mentor, request_id = register(), waiting()
    match = post("/matches", request_id=request_id, mentor_id=mentor["id"]).get_json()
    declined = post(f"/matches/{match['id']}/decline", declined_by="mentee", reason="mentee-declined")
    assert declined.status_code == 200 and declined.get_json()["declined_by"] == "mentee"
    assert emitted("peerlink.match.declined.v1")[0]["reason"] == "mentee-declined"
    assert client.get(f"/requests/{request_id}", headers=tokens.header()).get_json()["status"] == "waiting"
    again = post("/matches", request_id=request_id, mentor_id=mentor["id"])
    assert again.status_code == 409
    assert again.get_json()["exclusions"][0]["code"] == "declined-before"


def test_a_hard_constraint_refuses_a_pairing_by_hand_in_plain_words(register, waiting, post, body, engine):
    mentor = register(safeguarding={**body()["safeguarding"], "training_completed_on": None})
    refused = post("/matches", request_id=waiting(), mentor_id=mentor["id"])
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["exclusions"] == [{"code": "training", "reason": "Has not completed mentor training."}]
    assert count_rows(engine, matches) == 0


def test_a_proposal_is_confirmed_only_while_the_mentors_safeguarding_holds(
    client, tokens, register, waiting, post, emitted, body
):
    """Proposed while all was in order; supervision, then the DBS check, lapse before confirmation."""
    mentor, request_id = register(), waiting()
    match = post("/matches", request_id=request_id, mentor_id=mentor["id"]).get_json()
    today = datetime.now(UTC).date()  # the day matching checks safeguarding on
    in_order = body()["safeguarding"]
    lapses = {
        "supervision": ({"last_supervision_on": (today - timedelta(days=200)).isoformat()}, "Last supervision on"),
        "dbs": (
            {"dbs_checked_on": (today - timedelta(days=1100)).isoformat(), "dbs_expires_on": today.isoformat()},
            f"DBS check needed renewing by {today.isoformat()}.",
        ),
    }
    for code, (change, words) in lapses.items():
        changed = client.patch(
            f"/mentors/{mentor['id']}", json={"safeguarding": {**in_order, **change}}, headers=tokens.header()
        )
        assert changed.status_code == 200, changed.get_json()
        refused = post(f"/matches/{match['id']}/confirm")
        assert refused.status_code == 409, code
        (exclusion,) = refused.get_json()["exclusions"]
        assert exclusion["code"] == code and exclusion["reason"].startswith(words)
        assert client.get(f"/matches/{match['id']}", headers=tokens.header()).get_json()["status"] == "proposed"
        assert client.get(f"/requests/{request_id}", headers=tokens.header()).get_json()["status"] == "proposed"
        assert emitted("peerlink.match.confirmed.v1") == []
    renewed = {**in_order, "dbs_expires_on": None}  # three years after the check again
    client.patch(f"/mentors/{mentor['id']}", json={"safeguarding": renewed}, headers=tokens.header())
    assert post(f"/matches/{match['id']}/confirm").status_code == 200  # in order again: it goes ahead


def test_a_mentor_with_no_place_left_counting_proposals_is_refused(register, waiting, post):
    mentor = register(capacity=1)
    assert post("/matches", request_id=waiting(), mentor_id=mentor["id"]).status_code == 201
    refused = post("/matches", request_id=waiting(), mentor_id=mentor["id"])
    assert refused.status_code == 409
    assert refused.get_json()["exclusions"][0]["reason"] == "Has no place left (1 of 1 taken, 1 of them proposed)."


def test_a_request_already_proposed_is_not_proposed_twice(register, waiting, post):
    request_id = waiting()
    assert post("/matches", request_id=request_id, mentor_id=register()["id"]).status_code == 201
    refused = post("/matches", request_id=request_id, mentor_id=register()["id"])
    assert refused.status_code == 409 and refused.get_json()["status_now"] == "proposed"


def test_never_pair_again_blocks_the_pair_for_good(client, tokens, engine, register, waiting, post):
    mentor, request_id = register(), waiting()
    match = post("/matches", request_id=request_id, mentor_id=mentor["id"], confirm=True).get_json()
    post(f"/matches/{match['id']}/end", reason="safeguarding", never_pair_again=True)
    assert count_rows(engine, do_not_match, do_not_match.c.declared_by == "ended-match") == 1
    listed = client.get(f"/requests/{request_id}/do-not-match", headers=tokens.header()).get_json()
    assert listed[0]["mentor_id"] == mentor["id"] and listed[0]["match_id"] == match["id"]
    refused = post("/matches", request_id=request_id, mentor_id=mentor["id"])
    assert refused.get_json()["exclusions"][0]["code"] == "do-not-match"


def test_a_declared_conflict_either_side_declines_a_pending_proposal(client, tokens, register, waiting, post, emitted):
    mentor, request_id = register(), waiting()
    match = post("/matches", request_id=request_id, mentor_id=mentor["id"]).get_json()
    person_id = match["person_id"]
    declared = post(f"/mentors/{mentor['id']}/do-not-match", person_id=person_id, reason="shared-network")
    assert declared.status_code == 201
    assert emitted("peerlink.match.declined.v1")[0]["reason"] == "conflict-of-interest"
    assert client.get(f"/matches/{match['id']}", headers=tokens.header()).get_json()["status"] == "declined"
    other, recorded = register(), register()
    assert (
        post(f"/requests/{request_id}/do-not-match", mentor_id=other["id"], reason="family-or-friend").status_code
        == 201
    )
    # A coordinator records a conflict they know of, for the person.
    by_coordinator = post(
        f"/requests/{request_id}/do-not-match",
        mentor_id=recorded["id"],
        reason="shared-network",
        declared_by="coordinator",
    )
    assert by_coordinator.status_code == 201 and by_coordinator.get_json()["declared_by"] == "coordinator"
    suggestions = client.get(f"/requests/{request_id}/suggestions", headers=tokens.header()).get_json()
    assert suggestions["suggestions"] == []
    excluded = {e["mentor_id"]: e["reasons"] for e in suggestions["excluded"]}
    assert [r["code"] for r in excluded[recorded["id"]]] == ["do-not-match"]
    assert excluded[recorded["id"]][0]["reason"].startswith("A coordinator recorded a conflict between them")
    by_hand = post("/matches", request_id=request_id, mentor_id=recorded["id"])
    assert by_hand.status_code == 409
    assert by_hand.get_json()["exclusions"][0]["reason"].startswith("A coordinator recorded a conflict")
    run = post("/matching-runs").get_json()  # a whole-group run keeps to every side's conflicts too
    assert run["proposals"] == []
    assert "3 mentors are on a do-not-match list with the person" in run["unmatched"][0]["reasons"]
    assert (
        client.delete(f"/requests/{request_id}/do-not-match/{other['id']}", headers=tokens.header()).status_code == 204
    )
    assert (
        client.delete(f"/requests/{request_id}/do-not-match/{recorded['id']}", headers=tokens.header()).status_code
        == 204
    )
    assert (
        client.delete(f"/mentors/{mentor['id']}/do-not-match/{person_id}", headers=tokens.header()).status_code == 204
    )
    assert (
        client.delete(f"/mentors/{mentor['id']}/do-not-match/{person_id}", headers=tokens.header()).status_code == 404
    )


@sqlite_only  # no storage question in it
def test_declaring_the_same_conflict_again_answers_200_with_the_first_declaration_and_writes_nothing(
    client, tokens, engine, register, waiting, post
):
    def written() -> tuple[int, ...]:
        changes = audit_log.c.action == "change"
        return count_rows(engine, do_not_match), count_rows(engine, outbox), count_rows(engine, audit_log, changes)

    mentor, request_id = register(), waiting()
    person_id = str(uuid.uuid4())
    first = post(f"/mentors/{mentor['id']}/do-not-match", person_id=person_id, reason="shared-network")
    assert first.status_code == 201
    before = written()
    again = post(f"/mentors/{mentor['id']}/do-not-match", person_id=person_id, reason="other")
    assert again.status_code == 200 and again.mimetype == "application/json"
    assert again.get_json() == first.get_json()  # its id, its reason, its date: not the repeat's
    assert written() == before
    # It showed the mentor's entry, as GET /mentors/{id}/do-not-match does: a read is recorded.
    reads = audit_log.c.action == "read", audit_log.c.what == "POST /mentors/<uuid:mentor_id>/do-not-match"
    assert count_rows(engine, audit_log, *reads) == 1
    other = register()
    by_person = post(f"/requests/{request_id}/do-not-match", mentor_id=other["id"], reason="family-or-friend")
    assert by_person.status_code == 201
    before = written()
    repeated = post(f"/requests/{request_id}/do-not-match", mentor_id=other["id"], reason="safeguarding")
    assert repeated.status_code == 200 and repeated.get_json() == by_person.get_json()
    assert written() == before
    # Another side's declaration about the same pair is its own entry, not a repeat.
    by_coordinator = post(
        f"/requests/{request_id}/do-not-match", mentor_id=other["id"], reason="safeguarding", declared_by="coordinator"
    )
    assert by_coordinator.status_code == 201 and by_coordinator.get_json()["id"] != by_person.get_json()["id"]
    listed = client.get(f"/requests/{request_id}/do-not-match", headers=tokens.header()).get_json()
    assert sorted((e["declared_by"], e["reason"]) for e in listed) == [
        ("coordinator", "safeguarding"),
        ("person", "family-or-friend"),
    ]


def test_a_mentor_declines_their_own_proposal_but_no_one_elses(register, waiting, post, as_mentor):
    mine, other = register(), register()
    my_match = post("/matches", request_id=waiting(), mentor_id=mine["id"]).get_json()
    their_match = post("/matches", request_id=waiting(), mentor_id=other["id"]).get_json()
    client = as_mentor(mine["id"])
    body = {"declined_by": "mentor", "reason": "mentor-unavailable"}
    assert client.post(f"/matches/{their_match['id']}/decline", json=body).status_code == 403
    as_coordinator = {**body, "declined_by": "coordinator"}
    assert client.post(f"/matches/{my_match['id']}/decline", json=as_coordinator).status_code == 422
    assert client.post(f"/matches/{my_match['id']}/decline", json=body).status_code == 200
    assert client.post(f"/matches/{my_match['id']}/confirm", json={}).status_code == 403


def test_a_run_proposes_the_best_total_and_stays_pending_until_published(
    client, tokens, register, waiting, post, emitted
):
    welsh_mentor = register(capacity=1, languages=["cy", "en"])
    english_mentor = register(capacity=1, languages=["en"])
    welsh = waiting(
        preferred_language="cy", preferences={"mentor_gender": "no-preference", "welsh_speaking_mentor": True}
    )
    english = waiting()
    stranded = waiting(
        preferred_language="cy", preferences={"mentor_gender": "no-preference", "welsh_speaking_mentor": True}
    )
    created = post("/matching-runs")
    assert created.status_code == 201, created.get_json()
    run = created.get_json()
    assert run["status"] == "draft" and run["requests_considered"] == 3 and run["mentors_considered"] == 2
    assert run["total_score"] >= run["greedy_score"] - 1e-9
    pairs = {p["request_id"]: p["mentor_id"] for p in run["proposals"]}
    assert pairs[english] == english_mentor["id"]
    assert pairs.get(welsh, pairs.get(stranded)) == welsh_mentor["id"]
    (unmatched,) = run["unmatched"]
    assert unmatched["reasons"][0].startswith("1 mentor could take them, but their places went to")
    assert emitted("peerlink.match.proposed.v1") == []  # pending: nothing proposed yet
    published = post(f"/matching-runs/{run['id']}/publish")
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["status"] == "published"
    assert {p["outcome"] for p in published.get_json()["proposals"]} == {"proposed"}
    proposed = emitted("peerlink.match.proposed.v1")
    assert len(proposed) == 2 and {e["method"] for e in proposed} == {"run"}
    assert {e["run_id"] for e in proposed} == {run["id"]}
    assert post(f"/matching-runs/{run['id']}/publish").status_code == 409
    # The next run keeps existing pairs: only the one still waiting is considered, and no place is free.
    second = post("/matching-runs").get_json()
    assert second["requests_considered"] == 1 and second["proposals"] == []
    assert "No mentor could take them:" in second["unmatched"][0]["reasons"]
    assert client.get("/matching-runs", headers=tokens.header()).get_json()["total"] == 2


def test_publishing_checks_each_pair_again_and_can_leave_some_out_or_confirm_at_once(
    client, tokens, register, waiting, post
):
    first, second = register(capacity=1), register(capacity=1)
    kept, left_out = waiting(), waiting()
    run = post("/matching-runs").get_json()
    assert len(run["proposals"]) == 2
    taken_meanwhile = next(p for p in run["proposals"] if p["request_id"] == kept)["mentor_id"]
    other_request = waiting()
    assert post("/matches", request_id=other_request, mentor_id=taken_meanwhile).status_code == 201
    published = post(f"/matching-runs/{run['id']}/publish", leave_out=[left_out], confirm=True).get_json()
    outcomes = {p["request_id"]: p for p in published["proposals"]}
    assert outcomes[left_out]["outcome"] == "left-out"
    assert outcomes[kept]["outcome"] == "skipped"
    assert outcomes[kept]["skip_reasons"][0].startswith("Has no place left")
    assert {first["id"], second["id"]} >= {taken_meanwhile}


def test_a_run_can_hold_places_back_for_urgent_referrals_and_be_discarded(register, waiting, post):
    register(capacity=2)
    waiting(), waiting()
    run = post("/matching-runs", hold_back=1).get_json()
    assert run["held_back"] == 1 and len(run["proposals"]) == 1
    assert "held back for urgent referrals" in run["unmatched"][0]["reasons"][0]
    discarded = post(f"/matching-runs/{run['id']}/discard")
    assert discarded.get_json()["status"] == "discarded"
    assert post(f"/matching-runs/{run['id']}/publish").status_code == 409


def test_a_run_and_a_match_are_made_once_per_idempotency_key(client, tokens, register, waiting, engine):
    mentor, request_id = register(), waiting()
    headers = {**tokens.header(), "Idempotency-Key": "run-2026-11-23"}
    first = client.post("/matching-runs", json={}, headers=headers)
    again = client.post("/matching-runs", json={}, headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.post("/matching-runs", json={"hold_back": 1}, headers=headers).status_code == 422
    headers = {**tokens.header(), "Idempotency-Key": "match-2026-11-23"}
    body = {"request_id": request_id, "mentor_id": mentor["id"]}
    assert client.post("/matches", json=body, headers=headers).status_code == 201
    replay = client.post("/matches", json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert count_rows(engine, matches) == 1


def test_feedback_on_ended_matches_reports_which_criteria_predicted_good_ones(client, tokens, register, waiting, post):
    fits = register(capacity=10, lived_experience=["alcohol", "isolation"], interests=["art"])
    misfits = register(capacity=10, lived_experience=["trauma"], interests=["sport"], languages=["en"])
    for mentor, good in ((fits, True), (misfits, False)) * 6:
        match = post("/matches", request_id=waiting(), mentor_id=mentor["id"], confirm=True).get_json()
        empty = client.put(f"/matches/{match['id']}/feedback/mentee", json={}, headers=tokens.header())
        assert empty.status_code == 422
        too_early = client.put(
            f"/matches/{match['id']}/feedback/mentee",
            json={"helped": "a-lot", "would_match_again": True},
            headers=tokens.header(),
        )
        assert too_early.status_code == 409
        post(f"/matches/{match['id']}/end", reason="completed" if good else "not-a-fit")
        answer = {"helped": "a-lot" if good else "not-at-all", "would_match_again": good, "ended_because": "completed"}
        given = client.put(f"/matches/{match['id']}/feedback/mentee", json=answer, headers=tokens.header())
        assert given.status_code == 200, given.get_json()
    report = client.get("/matches/criteria-report", headers=tokens.header()).get_json()
    assert report["matches_with_feedback"] == 12 and report["good_matches"] == 6
    findings = {f["criterion"]: f for f in report["criteria"]}
    assert findings["lived_experience"]["verdict"].startswith("Predicted good matches")
    assert findings["lived_experience"]["correlation"] > 0.9
    assert findings["priority"]["verdict"] == "Made no clear difference."


def test_a_mentor_gives_their_own_side_of_feedback_and_a_match_is_good_only_if_every_answer_is(
    client, tokens, register, waiting, post, as_mentor
):
    mine, other = register(capacity=5), register(capacity=5)

    def ended(mentor):
        match = post("/matches", request_id=waiting(), mentor_id=mentor["id"], confirm=True).get_json()
        post(f"/matches/{match['id']}/end", reason="completed")
        return match["id"]

    both_helped, mentor_unhappy, only_mentee, only_mentor = ended(mine), ended(mine), ended(mine), ended(other)
    positive = {"helped": "a-lot", "would_match_again": True, "ended_because": "completed"}
    negative = {"helped": "not-at-all", "would_match_again": False, "ended_because": "not-a-fit"}
    mentor_client = as_mentor(mine["id"])
    given = mentor_client.put(f"/matches/{both_helped}/feedback/mentor", json=positive)
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["side"] == "mentor" and given.get_json()["recorded_by"] == mine["id"]
    assert mentor_client.put(f"/matches/{mentor_unhappy}/feedback/mentor", json=negative).status_code == 200
    assert mentor_client.put(f"/matches/{both_helped}/feedback/mentee", json=positive).status_code == 403
    assert mentor_client.put(f"/matches/{only_mentor}/feedback/mentor", json=positive).status_code == 403
    for match_id in (both_helped, mentor_unhappy, only_mentee):
        answer = client.put(f"/matches/{match_id}/feedback/mentee", json=positive, headers=tokens.header())
        assert answer.status_code == 200
    # The mentor's answer on their other mentor's match comes through a coordinator.
    client.put(f"/matches/{only_mentor}/feedback/mentor", json=negative, headers=tokens.header())
    sides = client.get(f"/matches/{both_helped}", headers=tokens.header()).get_json()["feedback"]
    assert sorted(a["side"] for a in sides) == ["mentee", "mentor"]
    # Good when every side that answered says it helped and would be matched so again.
    report = client.get("/matches/criteria-report", headers=tokens.header()).get_json()
    assert report["matches_with_feedback"] == 4
    assert report["good_matches"] == 2  # both_helped and only_mentee; not mentor_unhappy nor only_mentor


def test_the_policy_is_versioned_and_changes_the_scores(client, tokens, register, waiting):
    request_id = waiting()
    register()
    before = client.get(f"/requests/{request_id}/suggestions", headers=tokens.header()).get_json()["suggestions"][0]
    default = client.get("/matching-policy", headers=tokens.header()).get_json()
    assert default["version"] is None and default["gender_preference"] == "hard"
    changed = client.put(
        "/matching-policy", json={"weights": {"interests": 1.0}, "stability_months": 24}, headers=tokens.header()
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["version"] == 1 and changed.get_json()["shares"]["interests"] == 1.0
    after = client.get(f"/requests/{request_id}/suggestions", headers=tokens.header()).get_json()["suggestions"][0]
    assert after["score"] != before["score"]
    assert after["score"] == pytest.approx(1.0)  # the one interest the person named, shared
    assert (
        client.put("/matching-policy", json={"weights": {"interests": 0}}, headers=tokens.header()).status_code == 422
    )


def test_unknown_ids_are_404_problems(client, tokens, post):
    ghost = uuid.uuid4()
    for path in (f"/mentors/{ghost}", f"/requests/{ghost}", f"/matches/{ghost}", f"/matching-runs/{ghost}"):
        response = client.get(path, headers=tokens.header())
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path
    assert post(f"/matches/{ghost}/confirm").status_code == 404
    assert post("/matches", request_id=str(ghost), mentor_id=str(ghost)).status_code == 404
