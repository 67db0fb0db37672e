"""A whole-group run planned: scores, the optimal assignment, and why anyone is left unmatched.

The plan is only a proposal: nothing is written or emitted here, and a coordinator publishes
(or discards) it. Confirmed matches and pending proposals are never touched: their mentors'
places are simply taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matching.domain import assignment
from matching.domain.mentors import Mentor
from matching.domain.policy import CRITERIA
from matching.domain.requests import MatchRequest
from matching.domain.scoring import ScoreMatrix, Situation, exclusion_summary


@dataclass(frozen=True)
class Proposal:
    request: MatchRequest
    mentor: Mentor
    score: float
    breakdown: dict[str, dict[str, float]]


@dataclass(frozen=True)
class Unmatched:
    request: MatchRequest
    reasons: list[str]


@dataclass(frozen=True)
class Plan:
    proposals: list[Proposal]
    unmatched: list[Unmatched]
    total_score: float
    greedy_score: float
    held_back: int
    requests_considered: int
    mentors_considered: int


def queue_order(requests: Sequence[MatchRequest]) -> list[int]:
    """Urgent first, then longest waiting: the order a coordinator works the queue in."""
    return sorted(range(len(requests)), key=lambda i: (not requests[i].urgent, requests[i].waiting_since))


def problem_of(matrix: ScoreMatrix, hold_back: int = 0) -> assignment.Problem:
    urgent = np.array([r.urgent for r in matrix.requests], dtype=bool)
    return assignment.Problem(
        values=matrix.scores,
        eligible=matrix.eligible,
        places=matrix.places,
        step=matrix.step,
        urgent=urgent,
        held_back=assignment.hold_back(np.where(matrix.eligible.any(axis=0), matrix.places, 0), hold_back),
    )


def plan(
    requests: Sequence[MatchRequest], mentors: Sequence[Mentor], situation: Situation, *, hold_back: int = 0
) -> Plan:
    matrix = ScoreMatrix.build(requests, mentors, situation)
    problem = problem_of(matrix, hold_back)
    best = assignment.optimal(problem)
    baseline = assignment.greedy(problem)
    weights = situation.policy.normalised
    given = {row: (j, k) for row, j, k in best.pairs}
    taken = np.zeros(len(mentors), dtype=np.int64)
    for _, j, _ in best.pairs:
        taken[j] += 1

    proposals, unmatched = [], []
    for row in queue_order(requests):
        request = requests[row]
        if row in given:
            j, k = given[row]
            mentor = mentors[j]
            breakdown = {}
            for name in CRITERIA:
                value = float(matrix.values[name][row, j])
                if name == "current_load":
                    value = float(max(matrix.places[j] - k, 0) / mentor.capacity)
                breakdown[name] = {
                    "value": round(value, 6),
                    "weight": round(weights[name], 6),
                    "points": round(value * weights[name], 6),
                }
            score = float(matrix.scores[row, j] - matrix.step[j] * k)
            proposals.append(Proposal(request, mentor, score, breakdown))
        else:
            unmatched.append(Unmatched(request, _why_unmatched(matrix, problem, row, taken)))
    return Plan(
        proposals=proposals,
        unmatched=unmatched,
        total_score=best.total,
        greedy_score=baseline.total,
        held_back=int(problem.held_back.sum()),
        requests_considered=len(requests),
        mentors_considered=len(mentors),
    )


def _why_unmatched(matrix: ScoreMatrix, problem: assignment.Problem, row: int, taken: np.ndarray) -> list[str]:
    could = np.flatnonzero(matrix.eligible[row])
    if could.size == 0:
        if len(matrix.mentors) == 0:
            return ["No mentor is registered at this site."]
        return ["No mentor could take them:", *exclusion_summary(matrix.exclusion_counts(row))]
    left = problem.places[could] - taken[could]
    if not problem.urgent[row] and np.any(left > 0):
        return [
            f"The places left with the {_mentors(could.size)} who could take them are held back for urgent referrals."
        ]
    return [
        f"{_mentors(could.size).capitalize()} could take them, but their places went to people they suited "
        "better or who were more urgent (the best total for everyone)."
    ]


def _mentors(count: int) -> str:
    return "1 mentor" if count == 1 else f"{count} mentors"
