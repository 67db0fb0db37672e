"""Peer mentors: their profile, their safeguarding record and their status.

A mentor is active, paused (relapse, burnout, an expired check: their mentees go back to the
queue) or has left. Safeguarding is checked before any score: a valid DBS check, training
done, supervision current and, for lived experience of substance use or alcohol, the
mentor's own stability period.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from dateutil.relativedelta import relativedelta

from matching.domain.policy import Policy

# A DBS certificate carries no expiry; the scheme renews it every three years unless told otherwise.
DBS_RENEWAL_YEARS = 3
# Lived experience that calls for a recorded stability period before mentoring.
DEPENDENCE_NEEDS = frozenset({"substance-use", "alcohol"})
GENDERS = ("female", "male", "non-binary")


class MentorStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    LEFT = "left"


class InvalidMentor(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


class IllegalMentorChange(Exception):
    def __init__(self, status: MentorStatus, action: str):
        self.status = status
        self.action = action
        allowed = {
            MentorStatus.ACTIVE: ["pause", "leave"],
            MentorStatus.PAUSED: ["resume", "leave"],
            MentorStatus.LEFT: [],
        }[status]
        self.allowed = allowed
        super().__init__(
            f"A mentor who is {status} cannot {action}; "
            + (f"they can: {', '.join(allowed)}." if allowed else "they have left the scheme.")
        )


@dataclass(frozen=True)
class Contact:
    """Site-local: only ever on ``peerlink.private``."""

    given_name: str
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    preferred_language: str | None = None
    channels: tuple[str, ...] = ()
    safe_to_text: bool = False


@dataclass(frozen=True)
class Safeguarding:
    dbs_checked_on: date | None = None
    dbs_expires_on: date | None = None
    training_completed_on: date | None = None
    last_supervision_on: date | None = None
    stable_since: date | None = None


@dataclass(frozen=True)
class Mentor:
    id: uuid.UUID
    site: str
    kind: str
    contact: Contact
    languages: tuple[str, ...]
    lived_experience: tuple[str, ...]
    interests: tuple[str, ...]
    availability: tuple[str, ...]
    capacity: int
    registered_at: datetime
    skills: tuple[str, ...] = ()
    safeguarding: Safeguarding = Safeguarding()
    gender: str | None = None
    person_id: uuid.UUID | None = None  # their own person id when they were once referred in
    former_participant: bool = False  # stays true when the link is erased
    status: MentorStatus = MentorStatus.ACTIVE
    status_reason: str | None = None
    status_since: datetime | None = None
    updated_at: datetime | None = None

    @property
    def needs_stability_period(self) -> bool:
        return bool(DEPENDENCE_NEEDS & set(self.lived_experience))


def checked_safeguarding(safeguarding: Safeguarding, today: date) -> Safeguarding:
    """Dates in the past; an expiry after the check (three years on when not given)."""
    for name in ("dbs_checked_on", "training_completed_on", "last_supervision_on", "stable_since"):
        value = getattr(safeguarding, name)
        if value is not None and value > today:
            raise InvalidMentor(f"safeguarding.{name}", f"{name} cannot be in the future.")
    checked, expires = safeguarding.dbs_checked_on, safeguarding.dbs_expires_on
    if expires is not None and checked is None:
        raise InvalidMentor("safeguarding.dbs_checked_on", "Give the date of the DBS check with its expiry.")
    if checked is not None and expires is None:
        expires = checked + relativedelta(years=DBS_RENEWAL_YEARS)
    if checked is not None and expires is not None and expires <= checked:
        raise InvalidMentor("safeguarding.dbs_expires_on", "The DBS renewal date must come after the check.")
    return replace(safeguarding, dbs_expires_on=expires)


def pause(mentor: Mentor, reason: str, at: datetime) -> Mentor:
    if mentor.status is not MentorStatus.ACTIVE:
        raise IllegalMentorChange(mentor.status, "pause")
    return replace(mentor, status=MentorStatus.PAUSED, status_reason=reason, status_since=at, updated_at=at)


def resume(mentor: Mentor, at: datetime) -> Mentor:
    if mentor.status is not MentorStatus.PAUSED:
        raise IllegalMentorChange(mentor.status, "resume")
    return replace(mentor, status=MentorStatus.ACTIVE, status_reason=None, status_since=at, updated_at=at)


def leave(mentor: Mentor, reason: str, at: datetime) -> Mentor:
    if mentor.status is MentorStatus.LEFT:
        raise IllegalMentorChange(mentor.status, "leave")
    return replace(mentor, status=MentorStatus.LEFT, status_reason=reason, status_since=at, updated_at=at)


def safeguarding_alerts(mentor: Mentor, policy: Policy, today: date) -> list[str]:
    """What a coordinator should act on soon, in plain words (nothing here blocks by itself)."""
    record = mentor.safeguarding
    alerts = []
    if record.dbs_expires_on is not None and today <= record.dbs_expires_on:
        days = (record.dbs_expires_on - today).days
        if days <= policy.dbs_warning_days:
            alerts.append(f"DBS check to renew by {record.dbs_expires_on.isoformat()} (in {days} days).")
    if record.last_supervision_on is not None:
        due = record.last_supervision_on + relativedelta(days=policy.supervision_days)
        if today <= due and (due - today).days <= 14:
            alerts.append(f"Supervision due by {due.isoformat()}.")
    if mentor.needs_stability_period and record.stable_since is not None:
        ready = record.stable_since + relativedelta(months=policy.stability_months)
        if today < ready:
            alerts.append(f"Within their own stability period until {ready.isoformat()}.")
    return alerts
