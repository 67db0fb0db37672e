"""Match requests: what matching holds of a person waiting for a mentor, and nothing more.

One request per referral (its id is the referral's id): needs, interests, weekly times,
language and preferences, from ``referral.accepted``. It waits, is proposed a mentor, is
matched; a match that ends puts it back to waiting, unless mentoring was completed (then it is
completed until referrals closes or requeues the referral); the referral's end closes it.

It also keeps whether the referral's consent lets the central office count the person: when
it does not, every ``match.*`` event about the request stays at the site, as the referral's
own events do.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime


class RequestStatus(enum.StrEnum):
    WAITING = "waiting"
    PROPOSED = "proposed"
    MATCHED = "matched"
    # Mentoring completed: nobody is proposed again, and the referral stays for its coordinator
    # to close (or, if it was never started, referrals puts it back on the waiting list).
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"
    ERASED = "erased"


LIVE = frozenset({RequestStatus.WAITING, RequestStatus.PROPOSED, RequestStatus.MATCHED})


@dataclass(frozen=True)
class MatchRequest:
    id: uuid.UUID  # the referral's id
    person_id: uuid.UUID
    site: str
    support_needs: tuple[str, ...]
    interests: tuple[str, ...]
    availability: tuple[str, ...]
    preferred_language: str
    mentor_gender: str
    welsh_speaking_mentor: bool
    priority: bool
    reentry: bool
    accepted_at: datetime
    waiting_since: datetime
    status: RequestStatus = RequestStatus.WAITING
    # Back in the queue because their mentor paused or left: urgent, and a re-match is due.
    requeued_from_mentor: uuid.UUID | None = None
    rematch_due: bool = False
    current_match_id: uuid.UUID | None = None
    updated_at: datetime | None = None
    # The referral's consent to be counted centrally (``referral.accepted``). A request stored
    # before matching knew it, or accepted by a referrals too old to say, is taken as counted.
    counted_in_figures: bool = True

    @property
    def referral_id(self) -> uuid.UUID:
        return self.id

    @property
    def kept_at_site(self) -> bool:
        """Its match events go to ``peerlink.site-only``, never to the central office."""
        return not self.counted_in_figures

    @property
    def urgent(self) -> bool:
        return self.priority or self.requeued_from_mentor is not None

    def days_waiting(self, today: date) -> int:
        return max(0, (today - self.waiting_since.date()).days)


def accepted(
    existing: MatchRequest | None,
    *,
    referral_id: uuid.UUID,
    person_id: uuid.UUID,
    site: str,
    profile: dict[str, object],
    at: datetime,
    counted_in_figures: bool | None = None,
) -> MatchRequest | None:
    """The request after ``referral.accepted``; None when there is nothing to change.

    ``counted_in_figures`` None (an event from before the field existed) says nothing: a new
    request is taken as counted, an existing one keeps what it knew."""
    counted = {} if counted_in_figures is None else {"counted_in_figures": counted_in_figures}
    fields = {
        "support_needs": tuple(dict.fromkeys(profile["support_needs"])),  # type: ignore[call-overload]
        "interests": tuple(dict.fromkeys(profile["interests"])),  # type: ignore[call-overload]
        "availability": tuple(dict.fromkeys(profile["availability"])),  # type: ignore[call-overload]
        "preferred_language": profile["preferred_language"],
        "mentor_gender": profile["mentor_gender"],
        "welsh_speaking_mentor": profile["welsh_speaking_mentor"],
        "priority": profile["priority"],
        "reentry": profile["reentry"],
    }
    if existing is None:
        return MatchRequest(
            id=referral_id,
            person_id=person_id,
            site=site,
            accepted_at=at,
            waiting_since=at,
            updated_at=at,
            **fields,  # type: ignore[arg-type]
            **counted,  # type: ignore[arg-type]
        )
    if existing.status is RequestStatus.ERASED:
        return None
    if existing.status in (RequestStatus.WITHDRAWN, RequestStatus.CLOSED):
        # Re-entry without a new triage: waiting again from now.
        return replace(
            existing,
            status=RequestStatus.WAITING,
            accepted_at=at,
            waiting_since=at,
            requeued_from_mentor=None,
            rematch_due=False,
            current_match_id=None,
            updated_at=at,
            **fields,  # type: ignore[arg-type]
            **counted,  # type: ignore[arg-type]
        )
    # The same referral accepted again while live: its profile may have changed, its place is kept.
    return replace(existing, updated_at=at, **fields, **counted)  # type: ignore[arg-type]


def completed(request: MatchRequest, at: datetime) -> MatchRequest:
    """Its match ended because mentoring was completed. The match stays the request's current
    one, so that referrals' answer about it (requeued, closed, withdrawn) still finds it."""
    return replace(request, status=RequestStatus.COMPLETED, requeued_from_mentor=None, rematch_due=False, updated_at=at)


def waiting_again(
    request: MatchRequest, at: datetime, *, from_mentor: uuid.UUID | None = None, rematch: bool = False
) -> MatchRequest:
    """Back in the queue after a match ended or a proposal fell through."""
    return replace(
        request,
        status=RequestStatus.WAITING,
        current_match_id=None,
        waiting_since=at
        if request.status in (RequestStatus.MATCHED, RequestStatus.COMPLETED)
        else request.waiting_since,
        requeued_from_mentor=from_mentor or request.requeued_from_mentor,
        rematch_due=rematch,
        updated_at=at,
    )
