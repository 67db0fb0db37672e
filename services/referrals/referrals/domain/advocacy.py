"""Peer advocacy: up to three specific issues open at a time, a person (Mycelium's practice)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from referrals.domain import days

MAX_OPEN = 3


@dataclass(frozen=True)
class AdvocacyIssue:
    id: uuid.UUID
    person_id: uuid.UUID
    category: str
    summary: str | None  # the person's words; erased with the person
    opened_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class TooManyOpenIssues(Exception):
    def __init__(self, open_issues: Sequence[AdvocacyIssue], zone: tzinfo):
        self.open_issues = list(open_issues)
        super().__init__(
            f"A person can have at most {MAX_OPEN} open advocacy issues; resolve one of these first: "
            + ", ".join(f"{issue.category} (opened {days.day_of(issue.opened_at, zone)})" for issue in open_issues)
        )


class AlreadyResolved(Exception):
    pass


def open_issue(
    person_id: uuid.UUID,
    existing: Sequence[AdvocacyIssue],
    *,
    category: str,
    summary: str,
    now: datetime,
    zone: tzinfo,
) -> AdvocacyIssue:
    open_now = [issue for issue in existing if issue.is_open]
    if len(open_now) >= MAX_OPEN:
        raise TooManyOpenIssues(open_now, zone)
    return AdvocacyIssue(uuid.uuid4(), person_id, category, summary.strip(), now)


def resolve(issue: AdvocacyIssue, *, resolution: str, now: datetime, zone: tzinfo) -> AdvocacyIssue:
    if not issue.is_open:
        raise AlreadyResolved(f"This issue was resolved on {days.day_of(issue.resolved_at, zone)}.")  # type: ignore[arg-type]
    return replace(issue, resolved_at=now, resolution=resolution)
