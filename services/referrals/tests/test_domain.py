from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peerlink.contracts import REFERRAL_RECEIVED, personal_fields
from peerlink.testing import find_personal_data
from referrals.domain import ContactDetails, IneligibleReferral, NewReferral, received_event, take_referral

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def new(**overrides) -> NewReferral:
    values = {
        "given_name": " Rhian ",
        "family_name": "Pritchard",
        "date_of_birth": date(1985, 3, 2),
        "preferred_language": "cy",
        "contact": ContactDetails("rhian@example.org", None, ("email",), False),
        "source": "gp",
        "support_needs": ("alcohol", "isolation", "alcohol"),
        "consent_to_share": True,
        "counted_in_figures": True,
        "consent_wording_version": "2026-01",
    }
    return NewReferral(**{**values, **overrides})


def test_a_referral_is_taken_with_its_consent_recorded():
    person, referral = take_referral(new(), site="ebbw-vale", now=NOW)
    assert person.given_name == "Rhian"
    assert referral.person_id == person.id
    assert referral.status == "received"
    assert referral.support_needs == ("alcohol", "isolation")
    assert referral.consent.given_at == NOW
    assert referral.consent.wording_version == "2026-01"


@pytest.mark.parametrize(
    ("born", "eligible"),
    [(date(2010, 11, 22), True), (date(2010, 11, 23), False), (date(2008, 2, 29), True), (date(2027, 1, 1), False)],
)
def test_people_are_eligible_from_their_sixteenth_birthday(born, eligible):
    if eligible:
        take_referral(new(date_of_birth=born), site="ebbw-vale", now=NOW)
    else:
        with pytest.raises(IneligibleReferral) as raised:
            take_referral(new(date_of_birth=born), site="ebbw-vale", now=NOW)
        assert raised.value.field == "person.date_of_birth"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1)))
def test_eligibility_is_exactly_sixteen_years_on_the_day(born):
    sixteenth = (
        born.replace(year=born.year + 16) if not (born.month == 2 and born.day == 29) else date(born.year + 16, 3, 1)
    )
    try:
        take_referral(new(date_of_birth=born), site="ebbw-vale", now=NOW)
        accepted = True
    except IneligibleReferral:
        accepted = False
    assert accepted == (sixteenth <= NOW.date())


def test_consent_to_share_is_required():
    with pytest.raises(IneligibleReferral, match="Consent"):
        take_referral(new(consent_to_share=False), site="ebbw-vale", now=NOW)


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        (ContactDetails(None, None, ("email",), False), "person.contact.email"),
        (ContactDetails(None, None, ("sms",), True), "person.contact.phone"),
    ],
)
def test_a_chosen_channel_needs_its_address(contact, field):
    with pytest.raises(IneligibleReferral) as raised:
        take_referral(new(contact=contact), site="ebbw-vale", now=NOW)
    assert raised.value.field == field


def test_the_received_event_is_pseudonymous_and_on_contract():
    person, referral = take_referral(new(), site="ebbw-vale", now=NOW)
    data = received_event(person, referral)
    wire = REFERRAL_RECEIVED.dump(data)
    assert wire["age_band"] == "35-44"
    text = str(wire)
    assert find_personal_data(text, known=("Rhian", "Pritchard", "1985-03-02")) == []
    assert personal_fields(REFERRAL_RECEIVED.schema) == []
