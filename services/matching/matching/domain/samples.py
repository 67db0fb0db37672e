"""Sample mentors and requests: one made to order (tests), or a random site (benchmark, demo).

The random site is shaped like the real ones: most mentors speak English, a third Welsh;
most have lived experience of two or three needs; capacities from 1 to 5; a few have a
safeguarding gap, so that hard constraints bite as they do in life.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from matching.domain.mentors import GENDERS, Contact, Mentor, Safeguarding
from matching.domain.requests import MatchRequest
from peerlink.contracts.vocabulary import AVAILABILITY_SLOTS, INTERESTS, MENTOR_KINDS, SUPPORT_NEEDS

TODAY = date(2026, 11, 23)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9), UTC)


def a_mentor(**overrides: Any) -> Mentor:
    """A mentor anyone could be matched with today, unless ``overrides`` say otherwise."""
    mentor = Mentor(
        id=uuid.uuid4(),
        site="ebbw-vale",
        kind="volunteer",
        contact=Contact(given_name="Gareth", family_name="Llewellyn", email="gareth@example.org", channels=("email",)),
        languages=("cy", "en"),
        lived_experience=("alcohol", "mental-health"),
        skills=("housing",),
        interests=("art", "walking"),
        availability=("tue-pm", "thu-am"),
        capacity=3,
        registered_at=_at(TODAY - timedelta(days=400)),
        gender="male",
        safeguarding=Safeguarding(
            dbs_checked_on=TODAY - timedelta(days=200),
            dbs_expires_on=TODAY + timedelta(days=900),
            training_completed_on=TODAY - timedelta(days=180),
            last_supervision_on=TODAY - timedelta(days=20),
            stable_since=TODAY - timedelta(days=3 * 365),
        ),
    )
    return replace(mentor, **overrides)


def a_request(**overrides: Any) -> MatchRequest:
    """A person waiting for a mentor since ten days ago, without preferences unless told."""
    request = MatchRequest(
        id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        site="ebbw-vale",
        support_needs=("alcohol", "isolation"),
        interests=("art", "music"),
        availability=("tue-pm", "wed-am"),
        preferred_language="en",
        mentor_gender="no-preference",
        welsh_speaking_mentor=False,
        priority=False,
        reentry=False,
        accepted_at=_at(TODAY - timedelta(days=10)),
        waiting_since=_at(TODAY - timedelta(days=10)),
    )
    return replace(request, **overrides)


def _some(rng: random.Random, codes: tuple[str, ...], low: int, high: int) -> tuple[str, ...]:
    return tuple(rng.sample(codes, rng.randint(low, high)))


def random_mentors(rng: random.Random, count: int, *, site: str = "ebbw-vale", today: date = TODAY) -> list[Mentor]:
    mentors = []
    for _ in range(count):
        welsh = rng.random() < 0.35
        english = not welsh or rng.random() < 0.9
        gap = rng.random()
        safeguarding = Safeguarding(
            dbs_checked_on=today - timedelta(days=rng.randint(30, 1000)),
            training_completed_on=None if gap < 0.03 else today - timedelta(days=rng.randint(30, 900)),
            last_supervision_on=today - timedelta(days=rng.randint(1, 60 if gap > 0.06 else 200)),
            stable_since=today - timedelta(days=rng.randint(200, 4000)),
        )
        checked = safeguarding.dbs_checked_on
        assert checked is not None
        mentors.append(
            a_mentor(
                site=site,
                kind=rng.choice(MENTOR_KINDS),
                languages=tuple(code for code, speaks in (("cy", welsh), ("en", english)) if speaks),
                lived_experience=_some(rng, SUPPORT_NEEDS, 1, 3),
                skills=_some(rng, SUPPORT_NEEDS, 0, 2),
                interests=_some(rng, INTERESTS, 1, 4),
                availability=_some(rng, AVAILABILITY_SLOTS, 2, 8),
                capacity=rng.randint(1, 5),
                gender=rng.choice((*GENDERS[:2], *GENDERS[:2], GENDERS[2], None)),
                safeguarding=replace(safeguarding, dbs_expires_on=checked + timedelta(days=3 * 365)),
            )
        )
    return mentors


def random_requests(
    rng: random.Random, count: int, *, site: str = "ebbw-vale", today: date = TODAY
) -> list[MatchRequest]:
    requests = []
    for _ in range(count):
        language = "cy" if rng.random() < 0.25 else "en"
        since = _at(today - timedelta(days=rng.randint(0, 200)))
        requests.append(
            a_request(
                site=site,
                support_needs=_some(rng, SUPPORT_NEEDS, 1, 3),
                interests=_some(rng, INTERESTS, 0, 3),
                availability=_some(rng, AVAILABILITY_SLOTS, 0, 6),
                preferred_language=language,
                welsh_speaking_mentor=language == "cy" and rng.random() < 0.4,
                mentor_gender=rng.choice(("no-preference",) * 6 + ("female", "male")),
                priority=rng.random() < 0.08,
                accepted_at=since,
                waiting_since=since,
            )
        )
    return requests
