"""Intake: who is referred, by whom, for what, with what consent; eligibility; duplicates."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from dateutil.relativedelta import relativedelta

MINIMUM_AGE = 16
ADULT_AGE = 18


class IneligibleReferral(ValueError):
    """The referral cannot be taken; ``field`` names the input at fault (a dotted path) and
    ``code`` the rule, so that a page can say it in the person's own language."""

    def __init__(self, message: str, field: str, code: str):
        super().__init__(message)
        self.field = field
        self.code = code


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
    date_of_birth: date | None  # None once erased
    preferred_language: str
    contact: ContactDetails
    erased_at: datetime | None = None

    def age_on(self, day: date) -> int:
        if self.date_of_birth is None:
            raise ValueError("the person's date of birth was erased")
        return age_on(self.date_of_birth, day)


@dataclass(frozen=True)
class Consent:
    """Consent per purpose, recorded with the wording the person agreed to and when."""

    share_with_mentor: bool
    share_with_gp: bool
    counted_in_figures: bool
    wording_version: str
    given_at: datetime
    # People referred at 16 or 17 are asked again when they turn 18.
    review_on: date | None = None


@dataclass(frozen=True)
class Preferences:
    mentor_gender: str = "no-preference"
    welsh_speaking_mentor: bool = False


@dataclass(frozen=True)
class NewReferral:
    """What intake is given, already checked for shape by the API schema."""

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
    share_with_gp: bool = False
    interests: tuple[str, ...] = ()
    availability: tuple[str, ...] = ()
    preferences: Preferences = field(default_factory=Preferences)
    risk_flags: tuple[str, ...] = ()
    risk_note: str | None = None
    self_referral: bool = False


def age_on(born: date, day: date) -> int:
    return relativedelta(day, born).years


def check_age(born: date, today: date) -> None:
    """16 or over on the day of referral."""
    if born > today:
        raise IneligibleReferral("The date of birth is in the future.", "person.date_of_birth", "born-in-future")
    age = age_on(born, today)
    if age < MINIMUM_AGE:
        raise IneligibleReferral(
            f"Peerlink takes referrals from the age of {MINIMUM_AGE}; this person is {age}.",
            "person.date_of_birth",
            "under-minimum-age",
        )


def check_eligibility(new: NewReferral, today: date) -> None:
    """Raise :class:`IneligibleReferral` for the first rule the referral breaks."""
    check_age(new.date_of_birth, today)
    if not new.consent_to_share:
        raise IneligibleReferral(
            "Consent to share the referral with the peer mentoring team is required.",
            "consent.share_with_mentor",
            "consent-required",
        )
    if "email" in new.contact.channels and not new.contact.email:
        raise IneligibleReferral(
            "Email was chosen as a channel but no email address was given.", "person.contact.email", "email-missing"
        )
    if "sms" in new.contact.channels and not new.contact.phone:
        raise IneligibleReferral(
            "Text messages were chosen but no phone number was given.", "person.contact.phone", "phone-missing"
        )


def new_person(new: NewReferral) -> Person:
    return Person(
        id=uuid.uuid4(),
        given_name=new.given_name.strip(),
        family_name=new.family_name.strip(),
        date_of_birth=new.date_of_birth,
        preferred_language=new.preferred_language,
        contact=new.contact,
    )


def consent_from(new: NewReferral, now: datetime, *, today: date) -> Consent:
    """Consent given ``now``, on the site's day ``today``."""
    return Consent(
        share_with_mentor=new.consent_to_share,
        share_with_gp=new.share_with_gp,
        counted_in_figures=new.counted_in_figures,
        wording_version=new.consent_wording_version,
        given_at=now,
        review_on=consent_review_on(new.date_of_birth, today),
    )


def consent_review_on(born: date, today: date) -> date | None:
    """Someone referred at 16 or 17 is asked again on their eighteenth birthday."""
    eighteenth = born + relativedelta(years=ADULT_AGE)
    return eighteenth if eighteenth > today else None


# Duplicates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What tells two referrals apart as people: used to find someone referred before."""

    name_key: str
    date_of_birth: date
    email: str | None
    phone: str | None


def identity_of(
    given_name: str, family_name: str, date_of_birth: date, email: str | None, phone: str | None
) -> Identity:
    return Identity(
        name_key=name_key(given_name, family_name),
        date_of_birth=date_of_birth,
        email=email.strip().lower() if email else None,
        phone=phone_key(phone),
    )


def name_key(given_name: str, family_name: str) -> str:
    """Case, accents (Siân, Sian), spaces and hyphens do not make two people."""
    text = unicodedata.normalize("NFKD", f"{given_name} {family_name}")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", text.lower())


def phone_key(phone: str | None) -> str | None:
    """UK numbers in any spelling: +44 7700 900123, 07700-900123."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("44"):
        digits = "0" + digits[2:]
    return digits or None


# What two referrals may share that makes them possibly one person.
SAME_NAME_AND_BIRTH = "name-and-date-of-birth"
SAME_EMAIL = "email"
SAME_PHONE = "phone"


def matched_on(a: Identity, b: Identity) -> tuple[str, ...]:
    """What ``a`` and ``b`` share that makes them possibly one person; empty: two people.

    Only *possibly*: namesakes share a name and a birthday, families share a phone, and anyone
    who knows a person's name and date of birth can type them into the public form."""
    shared = []
    if a.name_key == b.name_key and a.date_of_birth == b.date_of_birth:
        shared.append(SAME_NAME_AND_BIRTH)
    if a.email and a.email == b.email:
        shared.append(SAME_EMAIL)
    if a.phone and a.phone == b.phone:
        shared.append(SAME_PHONE)
    return tuple(shared)
