"""Public guests of events: a name and an email, kept at the site and nowhere else.

A guest is known by their email: registering again with it (for another event) is the same
guest, with their newest name and language, so notifications keeps one recipient per guest.
Their details travel only on ``peerlink.private`` (``guest-contact.recorded``). They are
erased on request, and by the site's retention period after their last event; an erased
guest is announced with no details at all (a recorded contact with nothing to contact), so
that notifications forgets them too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

ERASED = "[erased]"


class AlreadyErased(Exception):
    pass


@dataclass(frozen=True)
class GuestDetails:
    given_name: str
    email: str
    family_name: str | None = None
    phone: str | None = None
    preferred_language: str | None = None
    channels: tuple[str, ...] = ("email",)


@dataclass(frozen=True)
class Guest:
    id: uuid.UUID
    given_name: str
    family_name: str | None
    email: str | None
    phone: str | None
    preferred_language: str | None
    channels: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None = None

    @property
    def safe_to_text(self) -> bool:
        # A guest who asks for texts gives the number for them: there is no one else to warn.
        return "sms" in self.channels and bool(self.phone)

    @property
    def email_key(self) -> str | None:
        return email_key(self.email) if self.email else None


def email_key(email: str) -> str:
    return email.strip().lower()


def new_guest(details: GuestDetails, now: datetime) -> Guest:
    return Guest(
        id=uuid.uuid4(),
        given_name=details.given_name,
        family_name=details.family_name,
        email=details.email.strip(),
        phone=details.phone,
        preferred_language=details.preferred_language,
        channels=details.channels,
        created_at=now,
        updated_at=now,
    )


def refreshed(guest: Guest, details: GuestDetails, now: datetime) -> tuple[Guest, bool]:
    """The guest with the details they gave this time; whether anything changed."""
    updated = replace(
        guest,
        given_name=details.given_name,
        family_name=details.family_name,
        email=details.email.strip(),
        phone=details.phone or guest.phone,
        preferred_language=details.preferred_language or guest.preferred_language,
        channels=details.channels,
    )
    if updated == guest:
        return guest, False
    return replace(updated, updated_at=now), True


def erase(guest: Guest, now: datetime) -> Guest:
    if guest.erased_at is not None:
        raise AlreadyErased(f"This guest's details were erased on {guest.erased_at.date().isoformat()}.")
    return replace(
        guest,
        given_name=ERASED,
        family_name=None,
        email=None,
        phone=None,
        preferred_language=None,
        channels=(),
        updated_at=now,
        erased_at=now,
    )
