"""A request keeps what ``referral.accepted`` said of the person's consent to be counted centrally."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from matching.domain.requests import RequestStatus, accepted

PROFILE = {
    "support_needs": ["alcohol"],
    "interests": [],
    "availability": [],
    "preferred_language": "en",
    "mentor_gender": "no-preference",
    "welsh_speaking_mentor": False,
    "priority": False,
    "reentry": False,
}
AT = datetime(2026, 11, 3, 9, tzinfo=UTC)


def accept(existing=None, counted=None, at=AT):
    return accepted(
        existing,
        referral_id=existing.id if existing else uuid.uuid4(),
        person_id=existing.person_id if existing else uuid.uuid4(),
        site="ebbw-vale",
        profile=PROFILE,
        at=at,
        counted_in_figures=counted,
    )


@pytest.mark.parametrize(("said", "kept_at_site"), [(True, False), (False, True), (None, False)])
def test_a_new_request_keeps_its_matches_at_the_site_only_when_the_referral_says_so(said, kept_at_site):
    """None: a ``referral.accepted`` from before the field existed, taken as counted."""
    assert accept(counted=said).kept_at_site is kept_at_site


@pytest.mark.parametrize("status", [RequestStatus.WAITING, RequestStatus.MATCHED, RequestStatus.CLOSED])
def test_an_acceptance_that_does_not_say_keeps_what_the_request_knew_and_one_that_does_is_taken(status):
    kept = replace(accept(counted=False), status=status)
    later = AT + timedelta(days=30)
    assert accept(kept, counted=None, at=later).kept_at_site is True
    assert accept(kept, counted=True, at=later).kept_at_site is False


def test_an_erased_request_is_not_brought_back_by_an_acceptance():
    erased = replace(accept(counted=False), status=RequestStatus.ERASED)
    assert accept(erased, counted=True) is None
