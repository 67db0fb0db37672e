"""Referrals in plain Python: who was referred, by whom, for what, with what consent.

No Flask, no SQLAlchemy: the rules here are tested without a broker or a database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from dateutil.relativedelta import relativedelta

from peerlink.contracts.vocabulary import age_band

MINIMUM_AGE = 16


class IneligibleReferral(ValueError):
    """The referral cannot be taken; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ContactDetails:
    email: str | None
    phone: str | None
    channels: tuple[str, ...]
    safe_to_text: bool


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    given_name: str
    family_name: str
    date_of_birth: date
    preferred_language: str
    contact: ContactDetails

    def age_on(self, day: date) -> int:
        return relativedelta(day, self.date_of_birth).years


@dataclass(frozen=True)
class Consent:
    """Consent recorded with the wording the person agreed to and when."""

    share_with_mentor: bool
    counted_in_figures: bool
    wording_version: str
    given_at: datetime


@dataclass(frozen=True)
class Referral:
    id: uuid.UUID
    person_id: uuid.UUID
    site: str
    source: str
    support_needs: tuple[str, ...]
    consent: Consent
    received_at: datetime
    status: str = "received"
    interests: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class NewReferral:
    """What intake is given, already validated for shape by the API schema."""

    given_name: str
    family_name: str
    date_of_birth: date
    preferred_language: str
    contact: ContactDetails
    source: str
    support_needs: tuple[str, ...]
    consent_to_share: bool
    counted_in_figures: bool
    consent_wording_version: str
    interests: tuple[str, ...] = ()


def take_referral(new: NewReferral, *, site: str, now: datetime) -> tuple[Person, Referral]:
    """Check eligibility and make the person and their referral."""
    if new.date_of_birth > now.date():
        raise IneligibleReferral("The date of birth is in the future.", "person.date_of_birth")
    person = Person(
        id=uuid.uuid4(),
        given_name=new.given_name.strip(),
        family_name=new.family_name.strip(),
        date_of_birth=new.date_of_birth,
        preferred_language=new.preferred_language,
        contact=new.contact,
    )
    if person.age_on(now.date()) < MINIMUM_AGE:
        raise IneligibleReferral(
            f"Peerlink takes referrals from the age of {MINIMUM_AGE}; this person is {person.age_on(now.date())}.",
            "person.date_of_birth",
        )
    if not new.consent_to_share:
        raise IneligibleReferral(
            "Consent to share the referral with the peer mentoring team is required.", "consent.share_with_mentor"
        )
    if "email" in new.contact.channels and not new.contact.email:
        raise IneligibleReferral(
            "Email was chosen as a channel but no email address was given.", "person.contact.email"
        )
    if "sms" in new.contact.channels and not new.contact.phone:
        raise IneligibleReferral("Text messages were chosen but no phone number was given.", "person.contact.phone")
    referral = Referral(
        id=uuid.uuid4(),
        person_id=person.id,
        site=site,
        source=new.source,
        support_needs=tuple(dict.fromkeys(new.support_needs)),
        interests=tuple(dict.fromkeys(new.interests)),
        consent=Consent(
            share_with_mentor=new.consent_to_share,
            counted_in_figures=new.counted_in_figures,
            wording_version=new.consent_wording_version,
            given_at=now,
        ),
        received_at=now,
    )
    return person, referral


def received_event(person: Person, referral: Referral) -> dict[str, object]:
    """``referral.received``: pseudonymous, an age band instead of a date of birth."""
    return {
        "referral_id": referral.id,
        "person_id": person.id,
        "source": referral.source,
        "support_needs": list(referral.support_needs),
        "age_band": age_band(person.age_on(referral.received_at.date())),
        "preferred_language": person.preferred_language,
        "received_at": referral.received_at,
        "counted_in_figures": referral.consent.counted_in_figures,
    }


def contact_event(person: Person) -> dict[str, object]:
    """``contact.recorded``: personal, for the site's notifications service only."""
    return {
        "person_id": person.id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "email": person.contact.email,
        "phone": person.contact.phone,
        "preferred_language": person.preferred_language,
        "channels": list(person.contact.channels),
        "safe_to_text": person.contact.safe_to_text,
    }
