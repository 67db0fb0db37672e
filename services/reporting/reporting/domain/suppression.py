"""Small numbers are not shown: a count from 1 to 4 becomes "<5", so that nobody can be picked
out of a figure (a site with two people referred by probation in a month). A median or a
percentile over fewer than five people is not shown either.

Money is not a count of people and is shown as it is. Suppression is primary only: a figure
hidden in one cell could in principle be worked out from a total and the other cells, so
totals are best published at the level they are suppressed (network, site).
"""

from __future__ import annotations

from typing import Any

THRESHOLD = 5
HIDDEN = f"<{THRESHOLD}"
# Figures that are not counts of people.
NOT_COUNTS = ("_pence", "_rate", "_mean", "_max", "_spread", "capacity_used", "mean_change")
# Statistics over people, with the count of the people they are over.
STATISTICS = {"median_days_waiting": "matched", "p90_days_waiting": "matched"}


def suppress(figures: Any) -> Any:
    """A copy of ``figures`` with small counts hidden."""
    if isinstance(figures, dict):
        result = {}
        for key, value in figures.items():
            if (
                key in STATISTICS
                and isinstance(figures.get(STATISTICS[key]), int)
                and figures[STATISTICS[key]] < THRESHOLD
            ):
                result[key] = None
            elif isinstance(value, bool) or key.endswith(NOT_COUNTS):
                result[key] = value
            elif isinstance(value, int):
                result[key] = HIDDEN if 0 < value < THRESHOLD else value
            else:
                result[key] = suppress(value)
        return result
    if isinstance(figures, list):
        return [suppress(item) for item in figures]
    return figures
