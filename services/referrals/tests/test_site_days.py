"""Every day referrals speaks of is the site's day (Europe/London here), not UTC's.

In summer a day in Wales starts at 23:00 UTC the evening before: a referral accepted at
2026-06-14T23:30Z was accepted on 15 June, and one received then belongs to 15 June's cohort.
The moments below sit either side of local midnight, where a UTC day gives another answer.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from referrals.domain import days
from referrals.domain.advocacy import TooManyOpenIssues, open_issue
from referrals.domain.erasure import AlreadyErased, erase
from referrals.domain.intake import ContactDetails, Person
from referrals.domain.outcomes import CheckIn, next_check_in_due

WALES = ZoneInfo("Europe/London")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_sites_day_its_bounds_and_the_days_between_two_moments():
    assert days.day_of(utc("2026-06-14T23:30"), WALES) == date(2026, 6, 15)  # 00:30 in Wales
    assert days.day_of(utc("2026-01-14T23:30"), WALES) == date(2026, 1, 14)  # winter: Wales keeps UTC
    assert days.covering(date(2026, 6, 15), date(2026, 6, 15), WALES) == (
        utc("2026-06-14T23:00"),
        utc("2026-06-15T23:00"),
    )
    assert days.covering(date(2026, 1, 15), date(2026, 1, 16), WALES) == (
        utc("2026-01-15T00:00"),
        utc("2026-01-17T00:00"),
    )
    # The day the clocks go forward (29 March 2026) has 23 hours: the next starts at 23:00 UTC.
    assert days.start_of(date(2026, 3, 30), WALES) == utc("2026-03-29T23:00")
    accepted = utc("2026-06-14T23:30")  # 15 June in Wales
    assert days.days_between(accepted, utc("2026-06-15T22:59"), WALES) == 0  # 23:59 on the 15th
    assert days.days_between(accepted, utc("2026-06-15T23:01"), WALES) == 1  # 00:01 on the 16th
    assert days.days_between(utc("2026-06-14T22:30"), accepted, WALES) == 1  # 23:30, then 00:30


def test_the_days_in_what_a_coordinator_is_told_are_the_sites():
    opened = [
        open_issue(uuid.uuid4(), [], category=c, summary="x", now=utc("2026-06-14T23:30"), zone=WALES)
        for c in ("housing", "debt", "benefits")
    ]
    with pytest.raises(TooManyOpenIssues, match=r"housing \(opened 2026-06-15\)"):
        open_issue(uuid.uuid4(), opened, category="legal", summary="x", now=utc("2026-06-20T12:00"), zone=WALES)
    person = Person(uuid.uuid4(), "Rhian", "Pritchard", None, "cy", ContactDetails(None, None, (), False))
    erased = erase(person, utc("2026-06-14T23:30"), WALES)
    with pytest.raises(AlreadyErased, match="erased on 2026-06-15"):
        erase(erased, utc("2026-06-20T12:00"), WALES)


def test_the_next_check_in_is_twelve_weeks_of_the_sites_days_after_the_latest_across_a_clock_change():
    def due_after(recorded_at: datetime) -> date | None:
        latest = CheckIn(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "peerlink-wellbeing-4", "review", {}, 8, recorded_at)
        return next_check_in_due(utc("2025-06-01T12:00"), [latest], WALES)

    # 23:30 on 10 January (GMT); 84 days on is 4 April, in summer time: adding 84 x 24 hours to
    # the moment gives 00:30 on the 5th in Wales.
    assert due_after(utc("2026-01-10T23:30")) == date(2026, 4, 4)
    # 00:30 on 1 September (BST) is 23:30 on 31 August in UTC; 84 days on is 24 November.
    assert due_after(utc("2026-08-31T23:30")) == date(2026, 11, 24)


def test_days_waiting_and_the_median_wait_count_the_sites_days(client, tokens, create, act, someone, at, confirm_match):
    at(utc("2026-06-10T12:00"))
    after_midnight, before_midnight = create(someone(0)), create(someone(1))
    at(utc("2026-06-14T22:30"))  # 23:30 on 14 June in Wales
    act(before_midnight["id"], "accept")
    at(utc("2026-06-14T23:30"))  # 00:30 on 15 June in Wales
    act(after_midnight["id"], "accept")

    def days_waiting() -> dict[str, int]:
        listed = client.get("/waiting-list", headers=tokens.header()).get_json()
        return {item["referral_id"]: item["days_waiting"] for item in listed["items"]}

    at(utc("2026-06-15T22:59"))  # 23:59 on the 15th: accepted today, and yesterday (UTC: both yesterday)
    assert days_waiting() == {after_midnight["id"]: 0, before_midnight["id"]: 1}
    at(utc("2026-06-15T23:01"))  # 00:01 on the 16th (UTC: still the 15th, so 1 and 1)
    assert days_waiting() == {after_midnight["id"]: 1, before_midnight["id"]: 2}
    check_ins = client.get(f"/referrals/{after_midnight['id']}/check-ins", headers=tokens.header()).get_json()
    assert check_ins["next_due"] == "2026-06-15"  # the baseline, due on the day of acceptance

    # Both matched at 00:15 on the 18th, after 3 and 4 days on the list. The median is the middle
    # of the days they were shown: 3.5 (UTC days would give 3.0, and whole 24 hours 2.5).
    matched_at = utc("2026-06-17T23:15")
    at(matched_at)
    assert days_waiting() == {after_midnight["id"]: 3, before_midnight["id"]: 4}
    confirm_match(after_midnight, matched_at)
    confirm_match(before_midnight, matched_at)
    listed = client.get("/waiting-list", headers=tokens.header()).get_json()
    assert (listed["items"], listed["matches_counted"], listed["median_wait_days"]) == ([], 2, 3.5)


def test_a_cohort_is_the_referrals_received_on_the_sites_days(client, tokens, create, act, someone, at, confirm_match):
    """15 June's cohort in Wales is from 23:00 UTC on the 14th to 23:00 UTC on the 15th: its
    figures (triage, waits by source, overdue triage) are about those referrals and no others."""
    received = {}
    for n, (source, moment) in enumerate(
        [
            ("self", "2026-06-14T22:30"),  # 23:30 on the 14th in Wales
            ("gp", "2026-06-14T23:30"),  # 00:30 on the 15th
            ("housing", "2026-06-15T12:00"),  # 13:00 on the 15th
            ("probation", "2026-06-15T22:30"),  # 23:30 on the 15th
            ("family", "2026-06-15T23:30"),  # 00:30 on the 16th
        ]
    ):
        at(utc(moment))
        received[source] = create(someone(n, source=source))
    # Triage and waits for a mentor, in days after receipt: (accepted, matched). Housing and
    # family are never triaged.
    for source, (to_triage, to_match) in {"self": (7, 17), "gp": (1, 3), "probation": (3, 7)}.items():
        referral = received[source]
        at(datetime.fromisoformat(referral["received_at"]) + timedelta(days=to_triage))
        assert act(referral["id"], "accept").status_code == 200
        confirm_match(referral, datetime.fromisoformat(referral["received_at"]) + timedelta(days=to_match))
    at(utc("2026-07-20T12:00"))

    figures = client.get(
        "/referrals/figures?received_from=2026-06-15&received_to=2026-06-15", headers=tokens.header()
    ).get_json()
    assert (figures["received"], figures["accepted"], figures["acceptance_rate"]) == (3, 2, 1.0)
    assert figures["median_days_to_triage"] == 2.0  # gp 1, probation 3 (self's 7 is the 14th's)
    assert (figures["awaiting_triage"], figures["triage_overdue"]) == (1, 1)  # housing (family's is the 16th's)
    assert figures["matched"] == 2
    assert figures["wait_for_a_mentor"] == {"count": 2, "median_days": 3.0, "p90_days": 4.0}  # gp 2, probation 4
    assert sorted(figures["wait_by_source"]) == ["gp", "probation"]

    def listed(query: str) -> set[str]:
        page = client.get(f"/referrals?{query}", headers=tokens.header()).get_json()
        return {item["source"] for item in page["items"]}

    assert listed("received_from=2026-06-15&received_to=2026-06-15") == {"gp", "housing", "probation"}
    assert listed("received_to=2026-06-14") == {"self"}
    assert listed("received_from=2026-06-16") == {"family"}


def test_today_in_the_figures_is_the_sites_day(client, tokens, create, someone, at):
    at(utc("2026-06-10T12:00"))
    teenager = someone(0)
    teenager["person"]["date_of_birth"] = "2008-06-16"  # 18 on 16 June: consent to be asked again
    create(teenager)

    def figures() -> dict:
        return client.get("/referrals/figures", headers=tokens.header()).get_json()  # type: ignore[no-any-return]

    at(utc("2026-06-15T22:30"))  # 23:30 on the 15th in Wales
    assert (figures()["received_to"], figures()["consent_reviews_due"]) == ("2026-06-15", 0)
    at(utc("2026-06-15T23:30"))  # 00:30 on the 16th (UTC: still the 15th)
    assert (figures()["received_to"], figures()["consent_reviews_due"]) == ("2026-06-16", 1)
