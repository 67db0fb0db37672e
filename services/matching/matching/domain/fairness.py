"""Caseloads and how evenly the load is spread across mentors."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Caseload:
    capacity: int
    confirmed: int
    proposed: int

    @property
    def taken(self) -> int:
        return self.confirmed + self.proposed

    @property
    def utilisation(self) -> float:
        return self.taken / self.capacity if self.capacity else 0.0


@dataclass(frozen=True)
class Fairness:
    mentors: int
    mean_utilisation: float | None
    spread: float | None  # busiest minus least busy, as shares of capacity
    standard_deviation: float | None
    gini: float | None  # 0: everyone equally loaded; towards 1: a few carry it all
    idle: int  # with places and no mentee
    full: int
    over_capacity: int


def fairness(loads: Sequence[Caseload]) -> Fairness:
    if not loads:
        return Fairness(0, None, None, None, None, 0, 0, 0)
    shares = [load.utilisation for load in loads]
    return Fairness(
        mentors=len(loads),
        mean_utilisation=round(statistics.fmean(shares), 4),
        spread=round(max(shares) - min(shares), 4),
        standard_deviation=round(statistics.pstdev(shares), 4),
        gini=round(gini(shares), 4),
        idle=sum(1 for load in loads if load.taken == 0),
        full=sum(1 for load in loads if load.taken >= load.capacity),
        over_capacity=sum(1 for load in loads if load.taken > load.capacity),
    )


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of the values (0 when all equal or all zero)."""
    ordered = sorted(values)
    total = sum(ordered)
    if not ordered or total == 0:
        return 0.0
    n = len(ordered)
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n
