"""Hard constraints before any score, then explainable weighted criteria (no database)."""

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.domain.mentors import MentorStatus, Safeguarding
from matching.domain.policy import CRITERIA, InvalidPolicy, Policy
from matching.domain.runs import plan
from matching.domain.samples import TODAY, a_mentor, a_request, random_mentors, random_requests
from matching.domain.scoring import Conflict, Load, ScoreMatrix, Situation, exclusion_summary, explain


def situation(**overrides):
    return Situation(site="ebbw-vale", today=TODAY, policy=Policy(), **overrides)


def codes(explanation):
    return [e.code for e in explanation.exclusions]


def test_an_eligible_pair_is_scored_with_every_criterion_explained():
    found = explain(a_request(), a_mentor(), situation())
    assert found.eligible
    words = {c.criterion: c.reason for c in found.contributions}
    assert words["lived_experience"] == "Shares lived experience of alcohol."
    assert words["interests"] == "Both enjoy art (1 of 2)."
    assert words["availability"] == "Free at tue-pm (1 of the person's 2 times)."
    assert words["language"] == "Speaks English, the person's language."
    assert words["current_load"] == "3 of 3 places free."
    values = found.values
    assert values["lived_experience"] == 0.5 and values["interests"] == 0.5 and values["availability"] == 0.5
    assert found.score == pytest.approx(sum(Policy().normalised[n] * values[n] for n in CRITERIA))
    assert 0 < found.score < 1


def test_a_skill_counts_half_of_lived_experience():
    found = explain(a_request(support_needs=("housing", "alcohol")), a_mentor(), situation())
    assert found.values["lived_experience"] == pytest.approx(0.75)
    assert "has skills in housing" in found.contributions[0].reason


@pytest.mark.parametrize(
    ("mentor_changes", "code", "words"),
    [
        ({"site": "merthyr"}, "other-site", "Works at another site (merthyr)."),
        ({"status": MentorStatus.PAUSED}, "not-active", "Is paused."),
        ({"status": MentorStatus.LEFT}, "not-active", "Has left the scheme."),
        ({"safeguarding": Safeguarding()}, "dbs", "Has no DBS check recorded."),
        ({"languages": ("en",)}, None, None),
    ],
)
def test_a_mentor_level_constraint_excludes_with_its_reason(mentor_changes, code, words):
    found = explain(a_request(), a_mentor(**mentor_changes), situation())
    if code is None:
        assert found.eligible
    else:
        assert code in codes(found)
        assert words in [e.reason for e in found.exclusions]


def test_safeguarding_is_checked_before_any_score():
    record = a_mentor().safeguarding
    expired = a_mentor(safeguarding=replace(record, dbs_expires_on=TODAY - timedelta(days=1)))
    untrained = a_mentor(safeguarding=replace(record, training_completed_on=None))
    unsupervised = a_mentor(safeguarding=replace(record, last_supervision_on=TODAY - timedelta(days=91)))
    unstable = a_mentor(safeguarding=replace(record, stable_since=TODAY - timedelta(days=100)))
    unrecorded = a_mentor(safeguarding=replace(record, stable_since=None))
    not_needed = a_mentor(lived_experience=("mental-health",), safeguarding=replace(record, stable_since=None))
    request = a_request()
    assert codes(explain(request, expired, situation())) == ["dbs"]
    assert codes(explain(request, untrained, situation())) == ["training"]
    assert codes(explain(request, unsupervised, situation())) == ["supervision"]
    assert codes(explain(request, unstable, situation())) == ["stability"]
    assert "12 months are needed" in explain(request, unstable, situation()).exclusions[0].reason
    assert codes(explain(request, unrecorded, situation())) == ["stability"]
    assert explain(request, not_needed, situation()).eligible
    assert explain(request, unstable, Situation("ebbw-vale", TODAY, Policy(stability_months=3))).eligible


def test_capacity_counts_pending_proposals():
    mentor = a_mentor(capacity=2)
    full = situation(loads={mentor.id: Load(confirmed=1, proposed=1)})
    found = explain(a_request(), mentor, full)
    assert codes(found) == ["no-place"]
    assert found.exclusions[0].reason == "Has no place left (2 of 2 taken, 1 of them proposed)."
    assert explain(a_request(), mentor, situation(loads={mentor.id: Load(confirmed=1)})).eligible


def test_a_declared_conflict_on_either_side_or_a_never_again_excludes_the_pair():
    request, mentor = a_request(), a_mentor()
    for declared_by, words in (
        ("person", "Is on the person's do-not-match list"),
        ("mentor", "Declared a conflict with this person"),
        ("coordinator", "A coordinator recorded a conflict between them"),
        ("ended-match", "An earlier match between them ended as never to be repeated"),
    ):
        conflicts = {(request.person_id, mentor.id): [Conflict(declared_by, TODAY)]}
        found = explain(request, mentor, situation(do_not_match=conflicts))
        assert codes(found) == ["do-not-match"]
        assert found.exclusions[0].reason.startswith(words)
    other_person = explain(a_request(), mentor, situation(do_not_match=conflicts))
    assert other_person.eligible


def test_language_the_person_needs():
    english_only = a_mentor(languages=("en",))
    welsh_only = a_mentor(languages=("cy",))
    insists = a_request(preferred_language="cy", welsh_speaking_mentor=True)
    prefers = a_request(preferred_language="cy")
    assert codes(explain(insists, english_only, situation())) == ["language"]
    assert explain(insists, english_only, situation()).exclusions[0].reason == (
        "Does not speak Welsh, which the person needs."
    )
    assert codes(explain(a_request(preferred_language="en"), welsh_only, situation())) == ["language"]
    # Preferring Welsh without asking for a Welsh speaker: anyone, but a Welsh speaker scores higher.
    assert explain(prefers, english_only, situation()).eligible
    assert explain(prefers, a_mentor(), situation()).score > explain(prefers, english_only, situation()).score


def test_a_stated_gender_preference_is_hard_unless_the_site_makes_it_a_preference():
    wants_female = a_request(mentor_gender="female")
    male, unknown, female = a_mentor(gender="male"), a_mentor(gender=None), a_mentor(gender="female")
    assert codes(explain(wants_female, male, situation())) == ["gender"]
    assert codes(explain(wants_female, unknown, situation())) == ["gender"]
    assert explain(wants_female, female, situation()).eligible
    soft = Situation("ebbw-vale", TODAY, Policy(gender_preference="soft"))
    assert explain(wants_female, male, soft).eligible
    assert explain(wants_female, female, soft).values["preference_fit"] == 1.0
    assert explain(wants_female, unknown, soft).values["preference_fit"] == 0.5
    assert explain(wants_female, male, soft).values["preference_fit"] == 0.0


def test_the_person_is_never_their_own_mentor_and_a_declined_pairing_is_not_proposed_again():
    request = a_request()
    assert codes(explain(request, a_mentor(person_id=request.person_id), situation())) == ["same-person"]
    mentor = a_mentor()
    declined = situation(declined={(request.id, mentor.id): (TODAY, "not-a-fit")})
    assert explain(request, mentor, declined).exclusions[0].reason == (
        f"This pairing did not go ahead before (not-a-fit, {TODAY.isoformat()})."
    )


def test_a_less_loaded_mentor_and_an_urgent_or_longer_waiting_person_score_higher():
    mentor = a_mentor(capacity=4)
    busy = situation(loads={mentor.id: Load(confirmed=3)})
    assert explain(a_request(), mentor, situation()).score > explain(a_request(), mentor, busy).score
    routine = explain(a_request(), mentor, situation()).score
    assert explain(a_request(priority=True), mentor, situation()).score > routine
    long_wait = a_request(waiting_since=a_request().waiting_since - timedelta(days=60))
    assert explain(long_wait, mentor, situation()).score > explain(a_request(), mentor, situation()).score


def test_weights_change_the_ranking():
    request = a_request(support_needs=("alcohol",), interests=("music",))
    experienced = a_mentor(lived_experience=("alcohol",), interests=("sport",))
    musical = a_mentor(lived_experience=("trauma",), interests=("music",), safeguarding=a_mentor().safeguarding)
    by_experience = situation()
    by_interest = Situation("ebbw-vale", TODAY, Policy(weights={"lived_experience": 0.1, "interests": 0.9}))
    assert explain(request, experienced, by_experience).score > explain(request, musical, by_experience).score
    assert explain(request, musical, by_interest).score > explain(request, experienced, by_interest).score


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"weights": {"charm": 1}}, "weights"),
        ({"weights": {"interests": -1}}, "weights.interests"),
        ({"weights": {name: 0 for name in CRITERIA}}, "weights"),
        ({"gender_preference": "maybe"}, "gender_preference"),
        ({"stability_months": -1}, "stability_months"),
    ],
)
def test_a_policy_refuses_nonsense(policy, field):
    with pytest.raises(InvalidPolicy) as refused:
        Policy(**policy)
    assert refused.value.field == field


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_every_pair_scored_at_once_equals_the_pair_explained(seed, soft_gender):
    rng = random.Random(seed)
    requests = random_requests(rng, 12)
    mentors = random_mentors(rng, 8)
    mentors[0] = replace(mentors[0], person_id=requests[0].person_id)
    mentors[1] = replace(mentors[1], site="merthyr")
    world = Situation(
        "ebbw-vale",
        TODAY,
        Policy(gender_preference="soft" if soft_gender else "hard"),
        loads={mentors[2].id: Load(1, 1), mentors[3].id: Load(mentors[3].capacity, 0)},
        do_not_match={(requests[1].person_id, mentors[4].id): [Conflict("person", TODAY)]},
        declined={(requests[2].id, mentors[5].id): (TODAY, "not-a-fit")},
    )
    matrix = ScoreMatrix.build(requests, mentors, world)
    for i, request in enumerate(requests):
        for j, mentor in enumerate(mentors):
            found = explain(request, mentor, world)
            assert matrix.eligible[i, j] == found.eligible, (found.exclusions, i, j)
            assert matrix.scores[i, j] == pytest.approx(found.score, abs=1e-9)
            for code in {e.code for e in found.exclusions}:
                mask = matrix.excluded_by[code]
                assert mask[j] if mask.ndim == 1 else mask[i, j]


def test_a_run_says_why_each_unmatched_person_could_not_be_matched():
    welsh = a_request(preferred_language="cy", welsh_speaking_mentor=True)
    first, second = a_request(), a_request()
    english_only = a_mentor(languages=("en",), capacity=1)
    paused = a_mentor(status=MentorStatus.PAUSED)
    result = plan([welsh, first, second], [english_only, paused], situation())
    assert len(result.proposals) == 1
    reasons = {u.request.id: u.reasons for u in result.unmatched}
    assert reasons[welsh.id] == [
        "No mentor could take them:",
        "1 mentor is paused or has left",
        "1 mentor does not speak the language the person needs",
    ]
    other = second.id if first.id == result.proposals[0].request.id else first.id
    assert reasons[other] == [
        "1 mentor could take them, but their places went to people they suited better or who were more urgent "
        "(the best total for everyone)."
    ]


def test_a_run_can_hold_places_back_for_urgent_referrals():
    mentor = a_mentor(capacity=2)
    routine = [a_request(), a_request()]
    result = plan(routine, [mentor], situation(), hold_back=1)
    assert len(result.proposals) == 1 and result.held_back == 1
    assert "held back for urgent referrals" in result.unmatched[0].reasons[0]
    urgent = a_request(priority=True)
    result = plan([*routine, urgent], [mentor], situation(), hold_back=1)
    assert urgent.id in {p.request.id for p in result.proposals}


def test_a_proposal_carries_its_breakdown_and_a_second_place_scores_less():
    mentor = a_mentor(capacity=2)
    result = plan([a_request(), a_request()], [mentor], situation())
    first, second = sorted(result.proposals, key=lambda p: -p.breakdown["current_load"]["value"])
    assert first.breakdown["current_load"]["value"] == 1.0
    assert second.breakdown["current_load"]["value"] == 0.5
    for proposal in result.proposals:
        assert proposal.score == pytest.approx(sum(c["points"] for c in proposal.breakdown.values()), abs=1e-5)
    assert result.total_score == pytest.approx(first.score + second.score)


def test_the_exclusion_summary_reads_in_plain_words():
    assert exclusion_summary({"no-place": 3, "dbs": 1}) == [
        "3 mentors have no place left (pending proposals count)",
        "1 mentor has no valid DBS check",
    ]
