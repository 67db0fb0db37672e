"""Feedback when a match ends, and which criteria predicted the good matches.

Each side (the mentee, the mentor) may say whether it helped, whether they would be matched
like this again, and why it ended. A match is *good* when every side that answered says it
helped and would be matched like this again. For each criterion, the report compares its
value (as it was when the match was proposed) between good and poor matches: a criterion
whose value is clearly higher in good matches predicted them, and its weight may deserve
more; one that makes no difference may deserve less.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from matching.domain.policy import CRITERIA

SIDES = ("mentee", "mentor")
HELPED = ("a-lot", "a-little", "not-at-all")
MINIMUM_MATCHES = 10  # below this a difference says nothing
CLEAR_DIFFERENCE = 0.1


class InvalidFeedback(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Feedback:
    match_id: uuid.UUID
    side: str
    helped: str
    would_match_again: bool
    ended_because: str | None
    recorded_at: datetime
    recorded_by: str

    @property
    def positive(self) -> bool:
        return self.helped in ("a-lot", "a-little") and self.would_match_again


def is_good(answers: Iterable[Feedback]) -> bool | None:
    """None when nobody answered."""
    given = list(answers)
    if not given:
        return None
    return all(item.positive for item in given)


@dataclass(frozen=True)
class CriterionFinding:
    criterion: str
    weight: float
    matches: int
    mean_in_good: float | None
    mean_in_poor: float | None
    difference: float | None
    correlation: float | None
    verdict: str


def criteria_report(
    matches: Iterable[tuple[Mapping[str, Mapping[str, float]], bool]], weights: Mapping[str, float]
) -> tuple[int, int, list[CriterionFinding]]:
    """``matches``: each ended match's breakdown when proposed, and whether it was good.
    Returns (matches with feedback, good ones, one finding per criterion)."""
    rows = list(matches)
    good_count = sum(1 for _, good in rows if good)
    findings = []
    for name in CRITERIA:
        pairs = [(float(b[name]["value"]), good) for b, good in rows if name in b]
        good = [v for v, g in pairs if g]
        poor = [v for v, g in pairs if not g]
        mean_good = statistics.fmean(good) if good else None
        mean_poor = statistics.fmean(poor) if poor else None
        difference = mean_good - mean_poor if mean_good is not None and mean_poor is not None else None
        correlation = _point_biserial(pairs)
        if len(pairs) < MINIMUM_MATCHES or difference is None:
            verdict = f"Too few ended matches with feedback to tell (need {MINIMUM_MATCHES}, both good and poor)."
        elif difference >= CLEAR_DIFFERENCE:
            verdict = "Predicted good matches: higher in the matches that helped."
        elif difference <= -CLEAR_DIFFERENCE:
            verdict = "Higher in the matches that did not help: its weight may be too high."
        else:
            verdict = "Made no clear difference."
        findings.append(
            CriterionFinding(
                criterion=name,
                weight=weights[name],
                matches=len(pairs),
                mean_in_good=_round(mean_good),
                mean_in_poor=_round(mean_poor),
                difference=_round(difference),
                correlation=_round(correlation),
                verdict=verdict,
            )
        )
    return len(rows), good_count, findings


def _point_biserial(pairs: list[tuple[float, bool]]) -> float | None:
    """Pearson's correlation between a criterion's value and the match being good."""
    if len(pairs) < 2:
        return None
    xs = [v for v, _ in pairs]
    ys = [1.0 if g else 0.0 for _, g in pairs]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
