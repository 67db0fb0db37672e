"""The whole-group assignment: every waiting person at once, the total score maximal.

A mentor with ``p`` free places is ``p`` columns (a capacity-expanded matrix); the ``k``-th
further place of a mentor is worth ``step`` less than the one before (their load grows), so
an optimal assignment fills a mentor's places in order. Forbidden pairs are worth nothing,
which is the same as leaving the person unmatched, so the optimum of the expanded matrix
under :func:`scipy.optimize.linear_sum_assignment` is the optimum of the real problem.

The last ``held_back`` places of a mentor may go to urgent requests only: a site keeps some
room for urgent referrals. Greedy baselines and the objective live here too, so that tests
and the benchmark measure every method by the same yardstick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Problem:
    values: np.ndarray  # n x m: a pair's score for the mentor's first free place
    eligible: np.ndarray  # n x m booleans: no hard constraint against the pair
    places: np.ndarray  # m: free places of each mentor
    step: np.ndarray  # m: what each further place of the mentor is worth less
    urgent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # n
    held_back: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # m

    def __post_init__(self) -> None:
        n, m = self.values.shape
        if self.urgent.shape != (n,):
            object.__setattr__(self, "urgent", np.zeros(n, dtype=bool))
        if self.held_back.shape != (m,):
            object.__setattr__(self, "held_back", np.zeros(m, dtype=np.int64))

    @property
    def open_places(self) -> np.ndarray:
        """Places anyone may take; the rest are held back for urgent requests."""
        return np.maximum(self.places - self.held_back, 0)


@dataclass(frozen=True)
class Assignment:
    pairs: list[tuple[int, int, int]]  # (row, mentor column, place index: 0 for their first free place)
    total: float

    @property
    def rows(self) -> set[int]:
        return {row for row, _, _ in self.pairs}

    def value_of(self, problem: Problem, row: int) -> float:
        for r, j, k in self.pairs:
            if r == row:
                return float(problem.values[r, j] - problem.step[j] * k)
        raise KeyError(row)


class Infeasible(ValueError):
    """An assignment that breaks a hard constraint or a capacity."""


def objective(problem: Problem, pairs: Iterable[tuple[int, int]]) -> float:
    """The total score of giving each row its mentor; refuses an infeasible assignment."""
    per_mentor: dict[int, list[int]] = {}
    seen: set[int] = set()
    for row, j in pairs:
        if row in seen:
            raise Infeasible(f"row {row} assigned twice")
        seen.add(row)
        if not problem.eligible[row, j]:
            raise Infeasible(f"row {row} may not have mentor {j}")
        per_mentor.setdefault(j, []).append(row)
    total = 0.0
    for j, rows in per_mentor.items():
        count = len(rows)
        routine = sum(1 for r in rows if not problem.urgent[r])
        if count > problem.places[j] or routine > problem.open_places[j]:
            raise Infeasible(f"mentor {j} over capacity")
        total += float(problem.values[rows, j].sum()) - float(problem.step[j]) * count * (count - 1) / 2
    return total


def _with_places(problem: Problem, pairs: Iterable[tuple[int, int]]) -> Assignment:
    """Number each mentor's places in order: urgent rows last, so held-back places are theirs."""
    per_mentor: dict[int, list[int]] = {}
    for row, j in pairs:
        per_mentor.setdefault(j, []).append(row)
    numbered = []
    for j, rows in per_mentor.items():
        rows.sort(key=lambda r: (bool(problem.urgent[r]), r))
        numbered += [(row, j, k) for k, row in enumerate(rows)]
    numbered.sort()
    return Assignment(numbered, objective(problem, [(r, j) for r, j, _ in numbered]))


def optimal(problem: Problem) -> Assignment:
    """The assignment of maximal total score (``linear_sum_assignment`` on expanded places)."""
    values, eligible = problem.values, problem.eligible
    rows = np.flatnonzero(eligible.any(axis=1))
    if rows.size == 0:
        return Assignment([], 0.0)
    # A mentor never needs more places than people who could take them.
    places = np.minimum(problem.places, eligible[rows].sum(axis=0))
    open_places = np.minimum(problem.open_places, places)
    mentor_of = np.repeat(np.arange(len(places)), places)
    if mentor_of.size == 0:
        return Assignment([], 0.0)
    place = np.arange(mentor_of.size) - np.repeat(np.cumsum(places) - places, places)
    held = place >= open_places[mentor_of]  # urgent rows only
    worth = values[np.ix_(rows, mentor_of)] - problem.step[mentor_of] * place
    # A place worth less than nothing is no better than leaving the person for another run.
    usable = eligible[np.ix_(rows, mentor_of)] & ~(held[None, :] & ~problem.urgent[rows][:, None]) & (worth >= 0)
    chosen_rows, chosen_columns = linear_sum_assignment(np.where(usable, worth, 0.0), maximize=True)
    keep = usable[chosen_rows, chosen_columns]
    chosen = zip(rows[chosen_rows[keep]].tolist(), mentor_of[chosen_columns[keep]].tolist(), strict=True)
    return _with_places(problem, chosen)


def greedy(problem: Problem) -> Assignment:
    """Best pair first: the baseline a run must never fall below."""
    n, m = problem.values.shape
    order = np.argsort(-np.where(problem.eligible, problem.values, -np.inf), axis=None, kind="stable")
    count = int(problem.eligible.sum())
    taken_rows = np.zeros(n, dtype=bool)
    load = np.zeros(m, dtype=np.int64)
    routine = np.zeros(m, dtype=np.int64)
    pairs = []
    for flat in order[:count].tolist():
        row, j = divmod(flat, m)
        if taken_rows[row] or not _fits(problem, row, j, load, routine):
            continue
        taken_rows[row] = True
        load[j] += 1
        routine[j] += 0 if problem.urgent[row] else 1
        pairs.append((row, j))
    return _with_places(problem, pairs)


def queue_greedy(problem: Problem, queue: Sequence[int]) -> Assignment:
    """By hand: each person in queue order (urgent, then longest waiting) takes their best mentor left."""
    m = problem.values.shape[1]
    load = np.zeros(m, dtype=np.int64)
    routine = np.zeros(m, dtype=np.int64)
    pairs = []
    for row in queue:
        best, best_value = None, -np.inf
        for j in np.flatnonzero(problem.eligible[row]).tolist():
            value = problem.values[row, j] - problem.step[j] * load[j]
            if value > best_value and _fits(problem, row, j, load, routine):
                best, best_value = j, value
        if best is not None:
            load[best] += 1
            routine[best] += 0 if problem.urgent[row] else 1
            pairs.append((row, best))
    return _with_places(problem, pairs)


def _fits(problem: Problem, row: int, j: int, load: np.ndarray, routine: np.ndarray) -> bool:
    if load[j] >= problem.places[j]:
        return False
    return bool(problem.urgent[row]) or routine[j] < problem.open_places[j]


def hold_back(places: np.ndarray, count: int) -> np.ndarray:
    """Which places to keep for urgent referrals: one at a time from whoever has most room left."""
    held = np.zeros_like(places)
    remaining = places.astype(np.int64).copy()
    for _ in range(max(0, min(count, int(remaining.sum())))):
        j = int(np.argmax(remaining))  # ties: the first mentor in the given order
        held[j] += 1
        remaining[j] -= 1
    return held
