from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.domain.days import day_of
from referrals.domain.intake import (
    ContactDetails,
    IneligibleReferral,
    NewReferral,
    check_eligibility,
    consent_from,
    identity_of,
    matched_on,
    name_key,
    phone_key,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WALES = ZoneInfo("Europe/London")
# 00:30 on 15 June in Wales (British Summer Time), still 14 June in UTC.
HALF_PAST_MIDNIGHT_IN_SUMMER = datetime(2026, 6, 14, 23, 30, tzinfo=UTC)


def new(**overrides) -> NewReferral:
    values = {
        "given_name": " Rhian ",
        "family_name": "Pritchard",
        "date_of_birth": date(1985, 3, 2),
        "preferred_language": "cy",
        "contact": ContactDetails("rhian@example.org", None, ("email",), False),
        "source": "gp",
        "support_needs": ("alcohol", "isolation"),
        "consent_to_share": True,
        "counted_in_figures": True,
        "consent_wording_version": "2026-01",
    }
    return NewReferral(**{**values, **overrides})


@pytest.mark.parametrize(
    ("born", "eligible"),
    [(date(2010, 11, 22), True), (date(2010, 11, 23), False), (date(2008, 2, 29), True), (date(2027, 1, 1), False)],
)
def test_people_are_eligible_from_their_sixteenth_birthday(born, eligible):
    if eligible:
        check_eligibility(new(date_of_birth=born), NOW.date())
    else:
        with pytest.raises(IneligibleReferral) as raised:
            check_eligibility(new(date_of_birth=born), NOW.date())
        assert raised.value.field == "person.date_of_birth"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1)))
def test_eligibility_is_exactly_sixteen_years_on_the_day(born):
    leap_day = born.month == 2 and born.day == 29
    sixteenth = date(born.year + 16, 3, 1) if leap_day else born.replace(year=born.year + 16)
    try:
        check_eligibility(new(date_of_birth=born), NOW.date())
        accepted = True
    except IneligibleReferral:
        accepted = False
    assert accepted == (sixteenth <= NOW.date())


def test_the_day_of_referral_is_the_sites_day_so_a_sixteenth_birthday_starts_at_midnight_in_wales():
    today = day_of(HALF_PAST_MIDNIGHT_IN_SUMMER, WALES)
    assert today == date(2026, 6, 15)
    check_eligibility(new(date_of_birth=date(2010, 6, 15)), today)  # sixteen today, in Wales
    with pytest.raises(IneligibleReferral):
        check_eligibility(new(date_of_birth=date(2010, 6, 16)), today)
    # In winter Wales keeps UTC: 23:30 is still the day before.
    assert day_of(datetime(2026, 1, 14, 23, 30, tzinfo=UTC), WALES) == date(2026, 1, 14)


def test_consent_to_share_is_required():
    with pytest.raises(IneligibleReferral, match="Consent") as raised:
        check_eligibility(new(consent_to_share=False), NOW.date())
    assert raised.value.field == "consent.share_with_mentor"


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        (ContactDetails(None, None, ("email",), False), "person.contact.email"),
        (ContactDetails(None, None, ("sms",), True), "person.contact.phone"),
    ],
)
def test_a_chosen_channel_needs_its_address(contact, field):
    with pytest.raises(IneligibleReferral) as raised:
        check_eligibility(new(contact=contact), NOW.date())
    assert raised.value.field == field


def test_people_referred_at_sixteen_or_seventeen_are_asked_again_at_eighteen():
    young = consent_from(new(date_of_birth=date(2009, 6, 1)), NOW, today=NOW.date())
    assert young.review_on == date(2027, 6, 1)
    assert consent_from(new(), NOW, today=NOW.date()).review_on is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Siân", "Jones"), ("SIAN", "jones")),
        (("Mary-Ann", "O'Brien"), ("Mary Ann", "OBrien")),
        (("  Rhys ", "ap Gwyn"), ("Rhys", "Ap-Gwyn")),
    ],
)
def test_names_match_across_case_accents_spaces_and_hyphens(a, b):
    assert name_key(*a) == name_key(*b)


def test_phone_numbers_match_in_any_spelling():
    assert phone_key("+44 7700 900123") == phone_key("07700-900123") == "07700900123"
    assert phone_key(None) is None


def test_a_possible_duplicate_is_found_by_name_and_birth_date_or_by_email_or_phone():
    rhian = identity_of("Rhian", "Pritchard", date(1985, 3, 2), "Rhian@Example.org", "07700 900123")
    same_name = identity_of("rhian", "pritchard", date(1985, 3, 2), None, None)
    assert matched_on(rhian, same_name) == ("name-and-date-of-birth",)
    assert matched_on(rhian, identity_of("R", "P", date(1990, 1, 1), "rhian@example.org", None)) == ("email",)
    assert matched_on(rhian, identity_of("R", "P", date(1990, 1, 1), None, "+447700900123")) == ("phone",)
    everything = identity_of("Rhian", "Pritchard", date(1985, 3, 2), "rhian@example.org", "07700-900123")
    assert matched_on(rhian, everything) == ("name-and-date-of-birth", "email", "phone")
    assert matched_on(rhian, identity_of("Rhian", "Pritchard", date(1985, 3, 3), None, None)) == ()
