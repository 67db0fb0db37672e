"""Explainable scores: hard constraints first, then weighted criteria, for every pair.

Two views of the same rules. :func:`explain` takes one pair and says, in plain words, why a
mentor is excluded or what each criterion contributed; :class:`ScoreMatrix` computes every
(request, mentor) pair at once with numpy for a whole-group run. Tests hold them to the
same numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from dateutil.relativedelta import relativedelta

from matching.domain.mentors import GENDERS, Mentor, MentorStatus
from matching.domain.policy import CRITERIA, Policy
from matching.domain.requests import MatchRequest
from peerlink.contracts.vocabulary import AVAILABILITY_SLOTS, INTERESTS, LANGUAGES, SUPPORT_NEEDS

LANGUAGE_NAMES = {"cy": "Welsh", "en": "English"}
NOT_GIVEN = 0.5  # a criterion the person gave nothing for neither helps nor hurts a mentor

# Every hard constraint, in the order a coordinator reads them: how it excludes one mentor, and several.
CONSTRAINTS: dict[str, tuple[str, str]] = {
    "other-site": ("works at another site", "work at another site"),
    "not-active": ("is paused or has left", "are paused or have left"),
    "no-place": ("has no place left (pending proposals count)", "have no place left (pending proposals count)"),
    "dbs": ("has no valid DBS check", "have no valid DBS check"),
    "training": ("has not completed mentor training", "have not completed mentor training"),
    "supervision": ("has no current supervision", "have no current supervision"),
    "stability": ("is within their own stability period", "are within their own stability period"),
    "same-person": ("is the person themself", "are the person themself"),
    "do-not-match": ("is on a do-not-match list with the person", "are on a do-not-match list with the person"),
    "language": ("does not speak the language the person needs", "do not speak the language the person needs"),
    "gender": ("is not the gender of mentor the person asked for", "are not the gender of mentor the person asked for"),
    "declined-before": ("was declined for this person before", "were declined for this person before"),
}
MENTOR_LEVEL = ("other-site", "not-active", "no-place", "dbs", "training", "supervision", "stability")


@dataclass(frozen=True)
class Load:
    confirmed: int = 0
    proposed: int = 0

    @property
    def taken(self) -> int:
        return self.confirmed + self.proposed


@dataclass(frozen=True)
class Conflict:
    """Why a pair must not be made: declared by the person, the mentor, or an ended match."""

    declared_by: str
    since: date


@dataclass(frozen=True)
class Situation:
    """Everything a score depends on beyond the pair itself."""

    site: str
    today: date
    policy: Policy
    loads: Mapping[uuid.UUID, Load] = field(default_factory=dict)
    # (person_id, mentor_id) -> the conflicts declared for that pair
    do_not_match: Mapping[tuple[uuid.UUID, uuid.UUID], Sequence[Conflict]] = field(default_factory=dict)
    # (request_id, mentor_id) -> (when, why) that pairing was declined or ended as not a fit
    declined: Mapping[tuple[uuid.UUID, uuid.UUID], tuple[date, str]] = field(default_factory=dict)

    def load(self, mentor_id: uuid.UUID) -> Load:
        return self.loads.get(mentor_id, Load())


@dataclass(frozen=True)
class Exclusion:
    code: str
    reason: str


@dataclass(frozen=True)
class Contribution:
    criterion: str
    value: float  # 0..1
    weight: float  # the criterion's share of a score
    reason: str

    @property
    def points(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class Explanation:
    mentor_id: uuid.UUID
    exclusions: list[Exclusion]
    contributions: list[Contribution]

    @property
    def eligible(self) -> bool:
        return not self.exclusions

    @property
    def score(self) -> float:
        return sum(c.points for c in self.contributions)

    @property
    def values(self) -> dict[str, float]:
        return {c.criterion: c.value for c in self.contributions}


# One pair, in words ----------------------------------------------------------------------------


def mentor_exclusions(mentor: Mentor, situation: Situation) -> list[Exclusion]:
    """What rules a mentor out for anyone today, whoever the person is."""
    found = []
    policy, today = situation.policy, situation.today
    if mentor.site != situation.site:
        found.append(Exclusion("other-site", f"Works at another site ({mentor.site})."))
    if mentor.status is not MentorStatus.ACTIVE:
        words = "Has left the scheme." if mentor.status is MentorStatus.LEFT else "Is paused."
        found.append(Exclusion("not-active", words))
    load = situation.load(mentor.id)
    if load.taken >= mentor.capacity:
        found.append(
            Exclusion(
                "no-place",
                f"Has no place left ({load.taken} of {mentor.capacity} taken, {load.proposed} of them proposed).",
            )
        )
    record = mentor.safeguarding
    if record.dbs_checked_on is None:
        found.append(Exclusion("dbs", "Has no DBS check recorded."))
    elif record.dbs_expires_on is not None and record.dbs_expires_on <= today:
        found.append(Exclusion("dbs", f"DBS check needed renewing by {record.dbs_expires_on.isoformat()}."))
    if record.training_completed_on is None:
        found.append(Exclusion("training", "Has not completed mentor training."))
    if record.last_supervision_on is None:
        found.append(Exclusion("supervision", "Has no supervision recorded."))
    elif record.last_supervision_on + relativedelta(days=policy.supervision_days) < today:
        found.append(
            Exclusion(
                "supervision",
                f"Last supervision on {record.last_supervision_on.isoformat()}, "
                f"more than {policy.supervision_days} days ago.",
            )
        )
    if mentor.needs_stability_period:
        if record.stable_since is None:
            words = "Has lived experience of substance use or alcohol but no stability period recorded."
            found.append(Exclusion("stability", words))
        elif record.stable_since + relativedelta(months=policy.stability_months) > today:
            found.append(
                Exclusion(
                    "stability",
                    f"Stable since {record.stable_since.isoformat()}: "
                    f"{policy.stability_months} months are needed before mentoring.",
                )
            )
    return found


def pair_exclusions(request: MatchRequest, mentor: Mentor, situation: Situation) -> list[Exclusion]:
    """What rules this mentor out for this person."""
    found = []
    if mentor.person_id is not None and mentor.person_id == request.person_id:
        found.append(Exclusion("same-person", "Is the person themself."))
    for conflict in situation.do_not_match.get((request.person_id, mentor.id), ()):
        words = {
            "person": "Is on the person's do-not-match list",
            "mentor": "Declared a conflict with this person",
            "coordinator": "A coordinator recorded a conflict between them",
            "ended-match": "An earlier match between them ended as never to be repeated",
        }.get(conflict.declared_by, "Is on a do-not-match list with the person")
        found.append(Exclusion("do-not-match", f"{words} (since {conflict.since.isoformat()})."))
    needed = required_languages(request)
    if needed and not needed & set(mentor.languages):
        names = " or ".join(LANGUAGE_NAMES[code] for code in sorted(needed))
        found.append(Exclusion("language", f"Does not speak {names}, which the person needs."))
    if situation.policy.gender_preference == "hard" and request.mentor_gender != "no-preference":
        if mentor.gender is None:
            found.append(
                Exclusion("gender", f"Has no gender recorded; the person asked for a {request.mentor_gender} mentor.")
            )
        elif mentor.gender != request.mentor_gender:
            found.append(Exclusion("gender", f"The person asked for a {request.mentor_gender} mentor."))
    declined = situation.declined.get((request.id, mentor.id))
    if declined is not None:
        words = f"This pairing did not go ahead before ({declined[1]}, {declined[0].isoformat()})."
        found.append(Exclusion("declined-before", words))
    return found


def required_languages(request: MatchRequest) -> set[str]:
    """A Welsh-speaking mentor when asked for; an English speaker for someone who prefers English;
    either for someone who prefers Welsh but did not ask for it (then Welsh scores higher)."""
    if request.welsh_speaking_mentor:
        return {"cy"}
    if request.preferred_language == "en":
        return {"en"}
    return set()


def explain(request: MatchRequest, mentor: Mentor, situation: Situation) -> Explanation:
    exclusions = mentor_exclusions(mentor, situation) + pair_exclusions(request, mentor, situation)
    weights = situation.policy.normalised
    return Explanation(
        mentor_id=mentor.id,
        exclusions=exclusions,
        contributions=[
            Contribution(name, value, weights[name], reason)
            for name, (value, reason) in _criteria(request, mentor, situation).items()
        ],
    )


def _share(wanted: Sequence[str], offered: set[str]) -> tuple[float, list[str]]:
    if not wanted:
        return NOT_GIVEN, []
    shared = [item for item in wanted if item in offered]
    return len(shared) / len(wanted), shared


def _criteria(request: MatchRequest, mentor: Mentor, situation: Situation) -> dict[str, tuple[float, str]]:
    values: dict[str, tuple[float, str]] = {}
    needs = request.support_needs
    lived = [n for n in needs if n in mentor.lived_experience]
    skilled = [n for n in needs if n in mentor.skills and n not in mentor.lived_experience]
    if needs:
        value = (len(lived) + 0.5 * len(skilled)) / len(needs)
        parts = []
        if lived:
            parts.append(f"shares lived experience of {', '.join(lived)}")
        if skilled:
            parts.append(f"has skills in {', '.join(skilled)}")
        reason = ("; ".join(parts) or "shares none of the person's needs").capitalize() + "."
    else:
        value, reason = NOT_GIVEN, "The person named no needs."
    values["lived_experience"] = (value, reason)

    value, shared = _share(request.interests, set(mentor.interests))
    if not request.interests:
        reason = "The person named no interests."
    elif shared:
        reason = f"Both enjoy {', '.join(shared)} ({len(shared)} of {len(request.interests)})."
    else:
        reason = "Shares none of the person's interests."
    values["interests"] = (value, reason)

    language = LANGUAGE_NAMES[request.preferred_language]
    if request.preferred_language in mentor.languages:
        values["language"] = (1.0, f"Speaks {language}, the person's language.")
    else:
        values["language"] = (0.0, f"Does not speak {language}, the person's language.")

    value, shared = _share(request.availability, set(mentor.availability))
    if not request.availability:
        reason = "The person gave no weekly times."
    elif shared:
        reason = f"Free at {', '.join(shared)} ({len(shared)} of the person's {len(request.availability)} times)."
    else:
        reason = "Free at none of the person's weekly times."
    values["availability"] = (value, reason)

    values["preference_fit"] = _preference_fit(request, mentor)

    load = situation.load(mentor.id)
    free = max(0, mentor.capacity - load.taken)
    values["current_load"] = (free / mentor.capacity, f"{free} of {mentor.capacity} places free.")

    if request.requeued_from_mentor is not None:
        values["priority"] = (1.0, "Back in the queue because their mentor paused or left.")
    elif request.priority:
        values["priority"] = (1.0, "An urgent referral.")
    else:
        values["priority"] = (0.0, "Not urgent.")

    days = request.days_waiting(situation.today)
    full = situation.policy.waiting_days_full
    values["waiting"] = (min(days / full, 1.0), f"Waiting {days} days.")
    return values


def _preference_fit(request: MatchRequest, mentor: Mentor) -> tuple[float, str]:
    met: list[float] = []
    words = []
    if request.mentor_gender != "no-preference":
        if mentor.gender == request.mentor_gender:
            met.append(1.0)
            words.append(f"is the {request.mentor_gender} mentor the person asked for")
        elif mentor.gender is None:
            met.append(NOT_GIVEN)
            words.append("has no gender recorded")
        else:
            met.append(0.0)
            words.append(f"is not the {request.mentor_gender} mentor the person asked for")
    if request.welsh_speaking_mentor:
        met.append(1.0 if "cy" in mentor.languages else 0.0)
        words.append("speaks Welsh as asked" if "cy" in mentor.languages else "does not speak Welsh as asked")
    if not met:
        return 1.0, "The person stated no preferences."
    return sum(met) / len(met), "; ".join(words).capitalize() + "."


# Every pair at once ----------------------------------------------------------------------------


def _codes(items: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> np.ndarray:
    index = {code: i for i, code in enumerate(vocabulary)}
    matrix = np.zeros((len(items), len(vocabulary)), dtype=np.float64)
    for row, codes in enumerate(items):
        for code in codes:
            matrix[row, index[code]] = 1.0
    return matrix


def _shared(wanted: np.ndarray, offered: np.ndarray) -> np.ndarray:
    """Share of each row's wanted codes that each mentor offers (NOT_GIVEN for an empty row)."""
    counts = wanted.sum(axis=1, keepdims=True)
    overlap = wanted @ offered.T
    return np.where(counts > 0, overlap / np.maximum(counts, 1), NOT_GIVEN)


@dataclass
class ScoreMatrix:
    """Scores and eligibility of every (request, mentor) pair, for the mentor's next free place.

    ``scores[i, j]`` equals ``explain(requests[i], mentors[j]).score``. A further place of
    mentor ``j`` within the same run scores ``step[j]`` less (their load grows).
    """

    requests: Sequence[MatchRequest]
    mentors: Sequence[Mentor]
    scores: np.ndarray
    eligible: np.ndarray
    places: np.ndarray
    step: np.ndarray
    values: dict[str, np.ndarray]
    excluded_by: dict[str, np.ndarray]  # constraint -> n x m booleans (mentor-level ones m only)

    @classmethod
    def build(cls, requests: Sequence[MatchRequest], mentors: Sequence[Mentor], situation: Situation) -> ScoreMatrix:
        n, m = len(requests), len(mentors)
        policy = situation.policy
        weights = policy.normalised
        values: dict[str, np.ndarray] = {}

        needs = _codes([r.support_needs for r in requests], SUPPORT_NEEDS)
        lived = _codes([mt.lived_experience for mt in mentors], SUPPORT_NEEDS)
        skills = _codes([mt.skills for mt in mentors], SUPPORT_NEEDS) * (1.0 - lived)
        need_counts = needs.sum(axis=1, keepdims=True)
        covered = needs @ lived.T + 0.5 * (needs @ skills.T)
        values["lived_experience"] = np.where(need_counts > 0, covered / np.maximum(need_counts, 1), NOT_GIVEN)
        values["interests"] = _shared(
            _codes([r.interests for r in requests], INTERESTS), _codes([mt.interests for mt in mentors], INTERESTS)
        )
        values["availability"] = _shared(
            _codes([r.availability for r in requests], AVAILABILITY_SLOTS),
            _codes([mt.availability for mt in mentors], AVAILABILITY_SLOTS),
        )
        speaks = _codes([mt.languages for mt in mentors], LANGUAGES).astype(bool)  # m x languages
        preferred = np.array([LANGUAGES.index(r.preferred_language) for r in requests], dtype=np.intp)
        values["language"] = speaks.T[preferred].astype(np.float64)

        wanted_gender = np.array([_gender_code(r.mentor_gender) for r in requests], dtype=np.intp)
        mentor_gender = np.array([_gender_code(mt.gender) for mt in mentors], dtype=np.intp)
        gender_stated = (wanted_gender > 0)[:, None]
        gender_value = np.where(
            wanted_gender[:, None] == mentor_gender[None, :], 1.0, np.where(mentor_gender[None, :] == 0, NOT_GIVEN, 0.0)
        )
        welsh_asked = np.array([r.welsh_speaking_mentor for r in requests], dtype=bool)[:, None]
        speaks_welsh = speaks[:, LANGUAGES.index("cy")][None, :].astype(np.float64)
        stated = gender_stated.astype(np.float64) + welsh_asked.astype(np.float64)
        met = np.where(gender_stated, gender_value, 0.0) + np.where(welsh_asked, speaks_welsh, 0.0)
        values["preference_fit"] = np.where(stated > 0, met / np.maximum(stated, 1), 1.0)

        capacity = np.array([mt.capacity for mt in mentors], dtype=np.float64)
        taken = np.array([situation.load(mt.id).taken for mt in mentors], dtype=np.float64)
        free = np.maximum(capacity - taken, 0)
        values["current_load"] = np.broadcast_to(free / capacity, (n, m))
        urgent = np.array([r.urgent for r in requests], dtype=np.float64)
        values["priority"] = np.broadcast_to(urgent[:, None], (n, m))
        waited = np.array(
            [min(r.days_waiting(situation.today) / policy.waiting_days_full, 1.0) for r in requests], dtype=np.float64
        )
        values["waiting"] = np.broadcast_to(waited[:, None], (n, m))

        scores = np.zeros((n, m), dtype=np.float64)
        for name in CRITERIA:
            scores += weights[name] * values[name]

        excluded_by: dict[str, np.ndarray] = {}
        by_mentor = [{e.code for e in mentor_exclusions(mt, situation)} for mt in mentors]
        for code in MENTOR_LEVEL:
            excluded_by[code] = np.array([code in codes for codes in by_mentor], dtype=bool)
        mentor_ok = ~np.any(np.stack([excluded_by[c] for c in MENTOR_LEVEL]), axis=0)

        welsh_needed = welsh_asked
        english_needed = np.array(
            [not r.welsh_speaking_mentor and r.preferred_language == "en" for r in requests], dtype=bool
        )[:, None]
        excluded_by["language"] = (welsh_needed & ~speaks[:, LANGUAGES.index("cy")][None, :]) | (
            english_needed & ~speaks[:, LANGUAGES.index("en")][None, :]
        )
        if policy.gender_preference == "hard":
            excluded_by["gender"] = gender_stated & (wanted_gender[:, None] != mentor_gender[None, :])
        else:
            excluded_by["gender"] = np.zeros((n, m), dtype=bool)
        row_of = {r.id: i for i, r in enumerate(requests)}
        rows_of_person: dict[uuid.UUID, list[int]] = {}
        for i, r in enumerate(requests):
            rows_of_person.setdefault(r.person_id, []).append(i)
        column_of = {mt.id: j for j, mt in enumerate(mentors)}
        same = np.zeros((n, m), dtype=bool)
        for j, mt in enumerate(mentors):
            for i in rows_of_person.get(mt.person_id, ()) if mt.person_id else ():
                same[i, j] = True
        excluded_by["same-person"] = same
        conflicts = np.zeros((n, m), dtype=bool)
        for (person_id, mentor_id), found in situation.do_not_match.items():
            j = column_of.get(mentor_id)
            if j is not None and found:
                for i in rows_of_person.get(person_id, ()):
                    conflicts[i, j] = True
        excluded_by["do-not-match"] = conflicts
        declined = np.zeros((n, m), dtype=bool)
        for request_id, mentor_id in situation.declined:
            i, j = row_of.get(request_id), column_of.get(mentor_id)
            if i is not None and j is not None:
                declined[i, j] = True
        excluded_by["declined-before"] = declined

        pair_ok = ~(
            excluded_by["language"]
            | excluded_by["gender"]
            | excluded_by["same-person"]
            | excluded_by["do-not-match"]
            | excluded_by["declined-before"]
        )
        return cls(
            requests=requests,
            mentors=mentors,
            scores=scores,
            eligible=pair_ok & mentor_ok[None, :],
            places=free.astype(np.int64),
            step=weights["current_load"] / capacity,
            values=values,
            excluded_by=excluded_by,
        )

    def exclusion_counts(self, row: int) -> dict[str, int]:
        """How many mentors each constraint rules out for one request (a mentor may fail several)."""
        counts = {}
        for code in CONSTRAINTS:
            mask = self.excluded_by[code]
            counts[code] = int(mask.sum() if mask.ndim == 1 else mask[row].sum())
        return counts


def _gender_code(gender: str | None) -> int:
    if gender is None or gender == "no-preference":
        return 0
    return GENDERS.index(gender) + 1


def exclusion_summary(counts: Mapping[str, int]) -> list[str]:
    """``{"no-place": 3}`` -> ``["3 mentors have no place left (pending proposals count)"]``."""
    lines = []
    for code, (one, several) in CONSTRAINTS.items():
        count = counts.get(code, 0)
        if count == 1:
            lines.append(f"1 mentor {one}")
        elif count:
            lines.append(f"{count} mentors {several}")
    return lines
