"""Wellbeing check-ins: a short scale of 1-5 items at acceptance, every twelve weeks and at
closure; the change since the first one is the person's distance travelled.

The default scale is Peerlink's own four items. A site may load another (such as the licensed
SWEMWBS) from a JSON file: ``{"id", "name", "minimum", "maximum", "items": [{"code", "en", "cy"}]}``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from referrals.domain import days

REVIEW_EVERY = timedelta(weeks=12)


@dataclass(frozen=True)
class ScaleItem:
    code: str
    en: str
    cy: str


@dataclass(frozen=True)
class Scale:
    id: str
    name: str
    items: tuple[ScaleItem, ...]
    minimum: int = 1
    maximum: int = 5

    @property
    def max_score(self) -> int:
        return len(self.items) * self.maximum


DEFAULT_SCALE = Scale(
    id="peerlink-wellbeing-4",
    name="Peerlink wellbeing (4 items)",
    items=(
        ScaleItem("coping", "I have been coping with day-to-day life", "Rydw i wedi bod yn ymdopi â bywyd bob dydd"),
        ScaleItem("connected", "I have felt connected to other people", "Rydw i wedi teimlo'n agos at bobl eraill"),
        ScaleItem("hopeful", "I have felt hopeful about the future", "Rydw i wedi teimlo'n obeithiol am y dyfodol"),
        ScaleItem("health", "I have been looking after my health", "Rydw i wedi bod yn gofalu am fy iechyd"),
    ),
)


class InvalidScale(ValueError):
    pass


def scale_from_json(text: str) -> Scale:
    try:
        raw = json.loads(text)
        items = tuple(ScaleItem(str(i["code"]), str(i["en"]), str(i["cy"])) for i in raw["items"])
        scale = Scale(str(raw["id"]), str(raw["name"]), items, int(raw.get("minimum", 1)), int(raw.get("maximum", 5)))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidScale(f"not a wellbeing scale: {exc}") from None
    if not re.fullmatch(r"[a-z0-9-]{1,40}", scale.id):
        raise InvalidScale("the scale id must be 1-40 lowercase letters, digits or hyphens")
    if not 1 <= len(items) <= 14 or len({i.code for i in items}) != len(items):
        raise InvalidScale("a scale has 1 to 14 items with distinct codes")
    if not 0 <= scale.minimum < scale.maximum <= 10:
        raise InvalidScale("answers run from a minimum to a maximum within 0-10")
    return scale


class InvalidCheckIn(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CheckIn:
    id: uuid.UUID
    referral_id: uuid.UUID
    person_id: uuid.UUID
    scale_id: str
    timepoint: str
    answers: dict[str, int]
    score: int
    recorded_at: datetime


@dataclass(frozen=True)
class Progress:
    """A check-in against the person's baseline."""

    baseline_score: int | None
    change: int | None
    weeks_since_baseline: int | None


def record_check_in(
    scale: Scale,
    *,
    referral_id: uuid.UUID,
    person_id: uuid.UUID,
    timepoint: str,
    answers: dict[str, int],
    earlier: Sequence[CheckIn],
    now: datetime,
) -> tuple[CheckIn, Progress]:
    expected = {item.code for item in scale.items}
    if set(answers) != expected:
        missing, extra = sorted(expected - set(answers)), sorted(set(answers) - expected)
        raise InvalidCheckIn(
            f"Answer every item of {scale.name}"
            + (f"; missing {missing}" if missing else "")
            + (f"; not in the scale {extra}" if extra else ""),
            "answers",
        )
    for code, value in answers.items():
        if not scale.minimum <= value <= scale.maximum:
            raise InvalidCheckIn(f"Answers run from {scale.minimum} to {scale.maximum}.", f"answers.{code}")
    baseline = _baseline(earlier, scale.id)
    if timepoint == "baseline" and baseline is not None:
        raise InvalidCheckIn("This referral already has its baseline check-in.", "timepoint")
    check_in = CheckIn(
        uuid.uuid4(), referral_id, person_id, scale.id, timepoint, dict(answers), sum(answers.values()), now
    )
    if baseline is None or timepoint == "baseline":
        return check_in, Progress(None, None, None)
    weeks = (now - baseline.recorded_at).days // 7
    return check_in, Progress(baseline.score, check_in.score - baseline.score, weeks)


def _baseline(check_ins: Sequence[CheckIn], scale_id: str) -> CheckIn | None:
    baselines = [c for c in check_ins if c.timepoint == "baseline" and c.scale_id == scale_id]
    return min(baselines, key=lambda c: c.recorded_at) if baselines else None


def next_check_in_due(accepted_at: datetime | None, check_ins: Sequence[CheckIn], zone: tzinfo) -> date | None:
    """The baseline is due at acceptance; then a review every twelve weeks after the latest (the
    site's days)."""
    if accepted_at is None:
        return None
    if not check_ins:
        return days.day_of(accepted_at, zone)
    # Twelve weeks of the site's days: the local day of the latest, then 84 days on (adding
    # 84 x 24 hours across a clock change could land on the day before or after).
    latest = max(c.recorded_at for c in check_ins)
    return days.day_of(latest, zone) + REVIEW_EVERY
