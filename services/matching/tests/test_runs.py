"""A whole-group run, planned the way ``POST /matching-runs`` plans it, on random sites: mentors
already carrying mentees, paused ones, conflicts declared by anyone, pairings declined before,
places held back for urgent referrals. Whatever the site, the plan keeps every hard constraint
and capacity, and its total is never below a greedy assignment made pair by pair from
:func:`explain` (the slow path, independent of the score matrix the run uses)."""

import random
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.domain.assignment import hold_back
from matching.domain.mentors import MentorStatus
from matching.domain.policy import Policy
from matching.domain.runs import plan
from matching.domain.samples import TODAY, random_mentors, random_requests
from matching.domain.scoring import Conflict, Load, Situation, explain

DECLARERS = ("person", "mentor", "coordinator", "ended-match")


def random_site(rng: random.Random, n: int, m: int, soft_gender: bool):
    """Requests and mentors as ``samples`` makes them, with the history a real site carries."""
    requests = [
        replace(r, priority=rng.random() < 0.3)  # enough urgent ones for held-back places to matter
        for r in random_requests(rng, n)
    ]
    mentors = [replace(mt, status=MentorStatus.PAUSED) if rng.random() < 0.1 else mt for mt in random_mentors(rng, m)]
    loads = {}
    for mentor in mentors:
        if rng.random() < 0.5:
            confirmed = rng.randint(0, mentor.capacity)
            loads[mentor.id] = Load(confirmed, rng.randint(0, mentor.capacity - confirmed))
    do_not_match = {
        (rng.choice(requests).person_id, rng.choice(mentors).id): [Conflict(rng.choice(DECLARERS), TODAY)]
        for _ in range(rng.randint(0, n))
    }
    declined = {
        (rng.choice(requests).id, rng.choice(mentors).id): (TODAY, "not-a-fit") for _ in range(rng.randint(0, n))
    }
    world = Situation(
        "ebbw-vale",
        TODAY,
        Policy(gender_preference="soft" if soft_gender else "hard"),
        loads=loads,
        do_not_match=do_not_match,
        declined=declined,
    )
    return requests, mentors, world


def free_places(mentors, world):
    """Capacity less the mentees confirmed and the proposals pending (they hold a place too)."""
    return [max(0, mt.capacity - world.load(mt.id).confirmed - world.load(mt.id).proposed) for mt in mentors]


def greedy_by_explanation(requests, mentors, world, held):
    """Best pair first, each pair scored and checked by ``explain``: a request takes a mentor while
    the mentor has a free place, the last ``held`` of them for urgent requests only. Returns the
    total score, each further place of a mentor worth a place's share of the load criterion less."""
    places = free_places(mentors, world)
    pairs = []
    for i, request in enumerate(requests):
        for j, mentor in enumerate(mentors):
            found = explain(request, mentor, world)
            if found.eligible:
                pairs.append((-found.score, i, j))
    taken_rows, given, routine = set(), [[] for _ in mentors], [0] * len(mentors)
    for minus_score, i, j in sorted(pairs):
        urgent = requests[i].urgent
        if i in taken_rows or len(given[j]) >= places[j] or (not urgent and routine[j] >= places[j] - held[j]):
            continue
        taken_rows.add(i)
        given[j].append(-minus_score)
        routine[j] += 0 if urgent else 1
    load_weight = world.policy.normalised["current_load"]
    return sum(
        sum(scores) - load_weight / mentor.capacity * len(scores) * (len(scores) - 1) / 2
        for scores, mentor in zip(given, mentors, strict=True)
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 20),
    m=st.integers(1, 7),
    held_places=st.integers(0, 4),
    soft_gender=st.booleans(),
)
def test_a_planned_run_keeps_every_constraint_and_is_never_below_greedy(seed, n, m, held_places, soft_gender):
    requests, mentors, world = random_site(random.Random(seed), n, m, soft_gender)
    result = plan(requests, mentors, world, hold_back=held_places)

    # Held back as the run promises: from whoever could take someone, the most room first.
    places = np.array(free_places(mentors, world), dtype=np.int64)
    anyone = np.array([any(explain(r, mt, world).eligible for r in requests) for mt in mentors], dtype=bool)
    held = hold_back(np.where(anyone, places, 0), held_places)
    assert result.held_back == int(held.sum())

    # Every proposal allowed, each person once, no mentor past their places or into held ones.
    assert len({p.request.id for p in result.proposals}) == len(result.proposals)
    assert len(result.proposals) + len(result.unmatched) == n
    index = {mt.id: j for j, mt in enumerate(mentors)}
    given_to, routine = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    for proposal in result.proposals:
        assert explain(proposal.request, proposal.mentor, world).eligible
        j = index[proposal.mentor.id]
        given_to[j] += 1
        routine[j] += 0 if proposal.request.urgent else 1
    assert np.all(given_to <= places)
    assert np.all(routine <= places - held)
    assert result.total_score == pytest.approx(sum(p.score for p in result.proposals), abs=1e-6)

    # Never below greedy: the one the run reports, and one made without the run's score matrix.
    assert result.total_score >= result.greedy_score - 1e-9
    assert result.total_score >= greedy_by_explanation(requests, mentors, world, held) - 1e-9
