"""A referral that may be someone already known: linked and flagged, never merged by itself.

Intake links a referral to a person already known by the same name and date of birth, or the
same email or phone. That is only a *possible* duplicate: namesakes share a name and a
birthday, families share a phone, and anyone who knows a person's name and date of birth can
type them into the public self-referral form. So a match changes nothing about the person
known: the details given with the referral wait on it, as proposed, until a coordinator says
whether it is the same person.

- the same person: the referral stays hers; the proposed contact details replace hers only if
  the coordinator says so;
- a different person: the referral gets a person of its own, with the details given with it.

Until then the referral cannot be accepted or declined (both reach the person it is linked to:
a message, a match); it can be withdrawn.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo

from referrals.domain import days
from referrals.domain.intake import (
    ContactDetails,
    Identity,
    NewReferral,
    Person,
    identity_of,
    matched_on,
)


class Resolution(enum.StrEnum):
    SAME_PERSON = "same-person"
    DIFFERENT_PERSON = "different-person"
    # The person it was linked to was erased before anyone decided: the proposed details,
    # which named her, went with the rest of her data.
    ERASED = "erased"


DECISIONS = (Resolution.SAME_PERSON.value, Resolution.DIFFERENT_PERSON.value)


class NothingToResolve(Exception):
    """The possible duplicate was resolved already."""


@dataclass(frozen=True)
class ProposedDetails:
    """Who the referral says the person is, and how to reach them: not yet anyone's details."""

    given_name: str
    family_name: str
    date_of_birth: date
    preferred_language: str
    contact: ContactDetails


@dataclass(frozen=True)
class PossibleDuplicate:
    referral_id: uuid.UUID
    person_id: uuid.UUID  # the person the referral was linked to
    matched_on: tuple[str, ...]
    flagged_at: datetime
    proposed: ProposedDetails | None  # cleared once resolved: the answer decided where they went
    resolution: Resolution | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    contact_details_applied: bool = False
    new_person_id: uuid.UUID | None = None  # a different person: the one made for the referral

    @property
    def pending(self) -> bool:
        return self.resolution is None


def flag(referral_id: uuid.UUID, known: Person, given: Identity, new: NewReferral, now: datetime) -> PossibleDuplicate:
    """The referral ``new`` linked to ``known``: what they share, and the details it came with."""
    assert known.date_of_birth is not None, "an erased person is never matched"
    theirs = identity_of(
        known.given_name, known.family_name, known.date_of_birth, known.contact.email, known.contact.phone
    )
    return PossibleDuplicate(
        referral_id=referral_id,
        person_id=known.id,
        matched_on=matched_on(given, theirs),
        flagged_at=now,
        proposed=ProposedDetails(
            given_name=new.given_name.strip(),
            family_name=new.family_name.strip(),
            date_of_birth=new.date_of_birth,
            preferred_language=new.preferred_language,
            contact=new.contact,
        ),
    )


def resolve(
    check: PossibleDuplicate,
    decision: Resolution,
    *,
    apply_contact_details: bool,
    at: datetime,
    actor: str,
    zone: tzinfo,
    new_person_id: uuid.UUID | None = None,
) -> PossibleDuplicate:
    """The coordinator's answer, recorded with who gave it and when."""
    ensure_pending(check, zone)
    same = decision is Resolution.SAME_PERSON
    return replace(
        check,
        proposed=None,
        resolution=decision,
        resolved_at=at,
        resolved_by=actor,
        contact_details_applied=same and apply_contact_details,
        new_person_id=None if same else new_person_id,
    )


def ensure_pending(check: PossibleDuplicate, zone: tzinfo) -> None:
    if not check.pending:
        assert check.resolved_at is not None
        raise NothingToResolve(
            f"This possible duplicate was resolved already ({check.resolution}, "
            f"{days.day_of(check.resolved_at, zone)}, by {check.resolved_by})."
        )


def with_contact_details(person: Person, proposed: ProposedDetails) -> Person:
    """The person with the contact details given with the referral (the coordinator said so).
    An address or number not given keeps the one known; name and date of birth never change here."""
    return replace(
        person,
        preferred_language=proposed.preferred_language,
        contact=ContactDetails(
            email=proposed.contact.email or person.contact.email,
            phone=proposed.contact.phone or person.contact.phone,
            channels=proposed.contact.channels,
            safe_to_text=proposed.contact.safe_to_text,
        ),
    )


def different_person(proposed: ProposedDetails) -> Person:
    """Someone else: a person of their own, with the details given with their referral."""
    return Person(
        id=uuid.uuid4(),
        given_name=proposed.given_name,
        family_name=proposed.family_name,
        date_of_birth=proposed.date_of_birth,
        preferred_language=proposed.preferred_language,
        contact=proposed.contact,
    )


def erased(check: PossibleDuplicate, at: datetime) -> PossibleDuplicate:
    """The person linked to was erased: an open question about her goes with her data."""
    if not check.pending:
        return check
    return replace(check, proposed=None, resolution=Resolution.ERASED, resolved_at=at, resolved_by="erasure")
