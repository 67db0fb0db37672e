"""The whole-group assignment is optimal: equal to brute force on small cases, never below greedy."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.domain.assignment import Infeasible, Problem, greedy, hold_back, objective, optimal, queue_greedy


def brute_force(problem: Problem) -> float:
    """Every way of giving each row a mentor or nobody: the best feasible total."""
    n, m = problem.values.shape
    best = 0.0
    for choice in itertools.product(range(-1, m), repeat=n):
        pairs = [(row, j) for row, j in enumerate(choice) if j >= 0]
        try:
            best = max(best, objective(problem, pairs))
        except Infeasible:
            continue
    return best


@st.composite
def problems(draw, max_rows=6, max_mentors=3, max_places=3):
    n = draw(st.integers(1, max_rows))
    m = draw(st.integers(1, max_mentors))
    unit = st.floats(0, 1, allow_nan=False)
    values = np.array(draw(st.lists(unit, min_size=n * m, max_size=n * m))).reshape(n, m)
    eligible = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    places = np.array(draw(st.lists(st.integers(0, max_places), min_size=m, max_size=m)), dtype=np.int64)
    step = np.array(draw(st.lists(st.floats(0, 0.1), min_size=m, max_size=m)))
    urgent = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    held = np.array([draw(st.integers(0, int(p))) for p in places], dtype=np.int64)
    return Problem(values, eligible, places, step, urgent, held)


@settings(max_examples=300, deadline=None)
@given(problems())
def test_the_run_is_as_good_as_every_possible_assignment(problem):
    found = optimal(problem)
    assert found.total == pytest.approx(brute_force(problem), abs=1e-9)
    assert objective(problem, [(r, j) for r, j, _ in found.pairs]) == pytest.approx(found.total)


def random_problem(seed: int, n: int, m: int) -> Problem:
    rng = np.random.default_rng(seed)
    places = rng.integers(1, 6, m)
    return Problem(
        values=rng.random((n, m)),
        eligible=rng.random((n, m)) < 0.3,
        places=places,
        step=0.1 / places,
        urgent=rng.random(n) < 0.1,
        held_back=hold_back(places, m // 10),
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(20, 300), st.integers(5, 80))
def test_the_run_is_never_worse_than_greedy_on_larger_random_cases(seed, n, m):
    problem = random_problem(seed, n, m)
    found = optimal(problem)
    queue = sorted(range(n), key=lambda r: not problem.urgent[r])
    assert found.total >= greedy(problem).total - 1e-9
    assert found.total >= queue_greedy(problem, queue).total - 1e-9


def test_a_mentor_never_gets_more_people_than_places_and_held_places_go_to_urgent_requests_only():
    problem = Problem(
        values=np.full((4, 1), 0.9),
        eligible=np.ones((4, 1), dtype=bool),
        places=np.array([3]),
        step=np.array([0.0]),
        urgent=np.array([False, False, False, True]),
        held_back=np.array([1]),
    )
    found = optimal(problem)
    assert len(found.pairs) == 3
    assert 3 in found.rows  # the urgent request has the held-back place
    assert len(found.rows - {3}) == 2


def test_a_request_with_no_eligible_mentor_stays_unmatched():
    problem = Problem(
        values=np.array([[0.9, 0.8], [0.7, 0.6]]),
        eligible=np.array([[False, False], [True, True]]),
        places=np.array([1, 1]),
        step=np.zeros(2),
    )
    assert optimal(problem).rows == {1}


def test_the_run_gives_up_a_locally_best_pair_when_the_whole_group_gains():
    # Greedy gives A the shared mentor (0.9) and leaves B with nobody; the run matches both.
    problem = Problem(
        values=np.array([[0.9, 0.8], [0.85, 0.0]]),
        eligible=np.array([[True, True], [True, False]]),
        places=np.array([1, 1]),
        step=np.zeros(2),
    )
    assert greedy(problem).total == pytest.approx(0.9)
    found = optimal(problem)
    assert found.total == pytest.approx(1.65)
    assert sorted((r, j) for r, j, _ in found.pairs) == [(0, 1), (1, 0)]


def test_places_are_held_back_from_the_mentors_with_most_room():
    assert hold_back(np.array([1, 4, 2]), 2).tolist() == [0, 2, 0]
    assert hold_back(np.array([1, 3, 3]), 2).tolist() == [0, 1, 1]
    assert hold_back(np.array([1, 0]), 5).tolist() == [1, 0]
