"""Bar charts as plain geometry for the dashboard's inline SVG: no script, nothing fetched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 560
BAR = 22
GAP = 8
LABEL = 150


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # what the bar says: a number, money, or "<5"
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL
    width: int = WIDTH


def bar_chart(chart_id: str, title: str, items: list[tuple[str, Any]], *, money: bool = False) -> Chart:
    """Horizontal bars, longest = full width; a hidden small number ("<5") draws no bar."""
    numbers = [value for _, value in items if isinstance(value, int | float) and not isinstance(value, bool)]
    top = max(numbers, default=0) or 1
    room = WIDTH - LABEL - 90
    bars = []
    for index, (label, value) in enumerate(items):
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        width = round(room * value / top) if numeric else 0
        shown = _money(value) if money and numeric else ("n/a" if value is None else str(value))
        bars.append(Bar(label, shown, index * (BAR + GAP), max(width, 1 if numeric and value else 0)))
    return Chart(chart_id, title, bars, max(1, len(items)) * (BAR + GAP))


def _money(pence: int | float) -> str:
    return f"£{pence / 100:,.2f}"
