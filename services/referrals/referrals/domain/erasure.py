"""The right to erasure: a person's personal data goes, the pseudonymous counts stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo

from referrals.domain import days
from referrals.domain.intake import ContactDetails, Person

ERASED = "[erased]"


class AlreadyErased(Exception):
    pass


def ensure_not_erased(person: Person, zone: tzinfo) -> None:
    """Nothing new is written about someone erased (an advocacy issue, a check-in, a transition
    of her referrals): it would be personal data kept against her wish."""
    if person.erased_at is not None:
        raise AlreadyErased(
            f"This person's data was erased on {days.day_of(person.erased_at, zone)}: nothing more is recorded "
            "about them."
        )


def erase(person: Person, now: datetime, zone: tzinfo) -> Person:
    ensure_not_erased(person, zone)
    return replace(
        person,
        given_name=ERASED,
        family_name=ERASED,
        date_of_birth=None,
        contact=ContactDetails(email=None, phone=None, channels=(), safe_to_text=False),
        erased_at=now,
    )
