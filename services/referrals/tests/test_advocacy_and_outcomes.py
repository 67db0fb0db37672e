import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from referrals.domain.advocacy import MAX_OPEN, AlreadyResolved, TooManyOpenIssues, open_issue, resolve
from referrals.domain.erasure import ERASED, AlreadyErased, erase
from referrals.domain.intake import ContactDetails, Person
from referrals.domain.outcomes import (
    DEFAULT_SCALE,
    InvalidCheckIn,
    InvalidScale,
    next_check_in_due,
    record_check_in,
    scale_from_json,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
WALES = ZoneInfo("Europe/London")
PERSON = uuid.uuid4()


def test_a_fourth_open_issue_is_refused_naming_the_three_open():
    issues = []
    for i, category in enumerate(["housing", "benefits", "debt"]):
        issues.append(
            open_issue(PERSON, issues, category=category, summary=f"issue {i}", now=T0 + timedelta(days=i), zone=WALES)
        )
    assert len(issues) == MAX_OPEN
    with pytest.raises(TooManyOpenIssues) as raised:
        open_issue(PERSON, issues, category="legal", summary="a fourth", now=T0, zone=WALES)
    assert [i.category for i in raised.value.open_issues] == ["housing", "benefits", "debt"]
    assert "housing (opened 2026-11-01)" in str(raised.value)
    issues[1] = resolve(issues[1], resolution="resolved", now=T0 + timedelta(days=9), zone=WALES)
    assert open_issue(PERSON, issues, category="legal", summary="now it fits", now=T0, zone=WALES).is_open


def test_an_issue_is_resolved_once():
    opened = open_issue(PERSON, [], category="debt", summary="x", now=T0, zone=WALES)
    issue = resolve(opened, resolution="referred-on", now=T0, zone=WALES)
    with pytest.raises(AlreadyResolved):
        resolve(issue, resolution="resolved", now=T0, zone=WALES)


def answers(value: int) -> dict[str, int]:
    return {item.code: value for item in DEFAULT_SCALE.items}


def test_check_ins_measure_the_change_since_the_baseline():
    referral, person = uuid.uuid4(), uuid.uuid4()
    baseline, progress = record_check_in(
        DEFAULT_SCALE,
        referral_id=referral,
        person_id=person,
        timepoint="baseline",
        answers=answers(2),
        earlier=[],
        now=T0,
    )
    assert baseline.score == 8 and progress.change is None
    review, progress = record_check_in(
        DEFAULT_SCALE,
        referral_id=referral,
        person_id=person,
        timepoint="review",
        answers=answers(4),
        earlier=[baseline],
        now=T0 + timedelta(weeks=12),
    )
    assert (review.score, progress.baseline_score, progress.change, progress.weeks_since_baseline) == (16, 8, 8, 12)
    assert next_check_in_due(T0, [baseline, review], WALES) == (T0 + timedelta(weeks=24)).date()
    assert next_check_in_due(T0, [], WALES) == T0.date()


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"coping": 3}, "answers"),
        ({**answers(3), "mood": 2}, "answers"),
        ({**answers(3), "coping": 6}, "answers.coping"),
    ],
)
def test_a_check_in_answers_every_item_within_the_scale(given, field):
    with pytest.raises(InvalidCheckIn) as raised:
        record_check_in(
            DEFAULT_SCALE,
            referral_id=uuid.uuid4(),
            person_id=PERSON,
            timepoint="review",
            answers=given,
            earlier=[],
            now=T0,
        )
    assert raised.value.field == field


def test_a_referral_has_one_baseline():
    first, _ = record_check_in(
        DEFAULT_SCALE,
        referral_id=uuid.uuid4(),
        person_id=PERSON,
        timepoint="baseline",
        answers=answers(3),
        earlier=[],
        now=T0,
    )
    with pytest.raises(InvalidCheckIn, match="already has its baseline"):
        record_check_in(
            DEFAULT_SCALE,
            referral_id=first.referral_id,
            person_id=PERSON,
            timepoint="baseline",
            answers=answers(3),
            earlier=[first],
            now=T0,
        )


def test_a_site_can_load_its_own_scale():
    scale = scale_from_json(
        json.dumps(
            {
                "id": "swemwbs",
                "name": "SWEMWBS",
                "minimum": 1,
                "maximum": 5,
                "items": [{"code": f"i{n}", "en": f"Item {n}", "cy": f"Eitem {n}"} for n in range(7)],
            }
        )
    )
    assert scale.max_score == 35
    with pytest.raises(InvalidScale):
        scale_from_json('{"id": "Bad Id", "name": "x", "items": [{"code": "a", "en": "a", "cy": "a"}]}')
    with pytest.raises(InvalidScale):
        scale_from_json("not json")


def test_erasure_removes_everything_personal_once():
    person = Person(PERSON, "Rhian", "Pritchard", None, "cy", ContactDetails("r@example.org", "0770", ("email",), True))
    erased = erase(person, T0, WALES)
    assert (erased.given_name, erased.family_name, erased.date_of_birth) == (ERASED, ERASED, None)
    assert erased.contact == ContactDetails(None, None, (), False)
    assert erased.preferred_language == "cy"  # not personal: kept for the counts
    with pytest.raises(AlreadyErased):
        erase(erased, T0, WALES)
