"""The right to erasure: a person's personal data goes, the pseudonymous counts stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from referrals.domain.intake import ContactDetails, Person

ERASED = "[erased]"


class AlreadyErased(Exception):
    pass


def erase(person: Person, now: datetime) -> Person:
    if person.erased_at is not None:
        raise AlreadyErased(f"This person's data was erased on {person.erased_at.date().isoformat()}.")
    return replace(
        person,
        given_name=ERASED,
        family_name=ERASED,
        date_of_birth=None,
        contact=ContactDetails(email=None, phone=None, channels=(), safe_to_text=False),
        erased_at=now,
    )
