"""A site's matching policy: the weight of each criterion and its safeguarding thresholds.

Weights are relative: a pair's score is the weighted mean of its criteria, each valued from 0
to 1, so a score is always between 0 and 1 whatever the weights add up to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

CRITERIA = (
    "lived_experience",
    "interests",
    "language",
    "availability",
    "preference_fit",
    "current_load",
    "priority",
    "waiting",
)

CRITERION_DESCRIPTIONS = {
    "lived_experience": "The person's needs the mentor has lived experience of (a skill alone counts half).",
    "interests": "The person's interests the mentor shares.",
    "language": "The mentor speaks the person's preferred language.",
    "availability": "The person's weekly times the mentor is free too.",
    "preference_fit": "The person's stated preferences (mentor gender, a Welsh-speaking mentor) the mentor meets.",
    "current_load": "Places the mentor has free, counting pending proposals: spreads the load.",
    "priority": "An urgent referral, or a person back in the queue because their mentor paused or left.",
    "waiting": "How long the person has waited (full value at the policy's waiting days).",
}

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "lived_experience": 0.30,
        "interests": 0.15,
        "language": 0.10,
        "availability": 0.15,
        "preference_fit": 0.05,
        "current_load": 0.10,
        "priority": 0.10,
        "waiting": 0.05,
    }
)

GENDER_PREFERENCE_MODES = ("hard", "soft")


class InvalidPolicy(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Policy:
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # A stated mentor gender is a hard constraint unless the site makes it a scored preference.
    gender_preference: str = "hard"
    stability_months: int = 12
    supervision_days: int = 90
    dbs_warning_days: int = 30
    waiting_days_full: int = 90

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(CRITERIA))
        if unknown:
            raise InvalidPolicy("weights", f"unknown criteria: {', '.join(unknown)} (known: {', '.join(CRITERIA)})")
        weights = {**{name: 0.0 for name in CRITERIA}, **{k: float(v) for k, v in self.weights.items()}}
        for name, value in weights.items():
            if not math.isfinite(value) or value < 0 or value > 100:
                raise InvalidPolicy(f"weights.{name}", f"the weight of {name} must be a number from 0 to 100")
        if sum(weights.values()) <= 0:
            raise InvalidPolicy("weights", "at least one criterion needs a weight above 0")
        object.__setattr__(self, "weights", MappingProxyType(weights))
        if self.gender_preference not in GENDER_PREFERENCE_MODES:
            raise InvalidPolicy("gender_preference", "gender_preference is 'hard' or 'soft'")
        for name, low, high in (
            ("stability_months", 0, 120),
            ("supervision_days", 1, 730),
            ("dbs_warning_days", 0, 365),
            ("waiting_days_full", 1, 730),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidPolicy(name, f"{name} must be a whole number from {low} to {high}")

    @property
    def normalised(self) -> dict[str, float]:
        """Each criterion's share of a score (they add up to 1)."""
        total = sum(self.weights.values())
        return {name: self.weights[name] / total for name in CRITERIA}
