"""What matching does when referrals moves a referral, a person is erased, or a mentor it
paused or lost leaves people waiting (its own event: the re-match runs here, retried on failure)."""

from __future__ import annotations

from matching import commands
from peerlink.contracts import (
    MENTOR_LEFT,
    MENTOR_PAUSED,
    PERSON_ERASED,
    REFERRAL_ACCEPTED,
    REFERRAL_CLOSED,
    REFERRAL_REQUEUED,
    REFERRAL_WITHDRAWN,
)
from peerlink.subscriptions import Event, HandlerContext, PermanentFailure, Subscriptions

subscriptions = Subscriptions("matching")


@subscriptions.on(REFERRAL_ACCEPTED)
def on_referral_accepted(event: Event, tx: HandlerContext) -> None:
    if event.site != tx.producer.site:
        # Mentors are matched at their own site: a referral from elsewhere is an operator's problem.
        raise PermanentFailure(f"A referral accepted at {event.site} reached the {tx.producer.site} matching service.")
    commands.referral_accepted(tx, event.data, site=event.site)


@subscriptions.on(REFERRAL_WITHDRAWN)
def on_referral_withdrawn(event: Event, tx: HandlerContext) -> None:
    commands.referral_ended(tx, event.data["referral_id"], reason="referral-withdrawn", at=event.data["withdrawn_at"])


@subscriptions.on(REFERRAL_CLOSED)
def on_referral_closed(event: Event, tx: HandlerContext) -> None:
    commands.referral_ended(tx, event.data["referral_id"], reason="referral-closed", at=event.data["closed_at"])


@subscriptions.on(REFERRAL_REQUEUED)
def on_referral_requeued(event: Event, tx: HandlerContext) -> None:
    data = event.data
    commands.referral_requeued(
        tx, data["referral_id"], match_id=data["match_id"], reason=data["reason"], at=data["requeued_at"]
    )


@subscriptions.on(PERSON_ERASED)
def on_person_erased(event: Event, tx: HandlerContext) -> None:
    commands.person_erased(tx, event.data["person_id"], at=event.data["erased_at"])


@subscriptions.on(MENTOR_PAUSED)
def on_mentor_paused(event: Event, tx: HandlerContext) -> None:
    commands.propose_rematches(tx, event.data["mentor_id"], site=event.site, at=event.data["paused_at"])


@subscriptions.on(MENTOR_LEFT)
def on_mentor_left(event: Event, tx: HandlerContext) -> None:
    commands.propose_rematches(tx, event.data["mentor_id"], site=event.site, at=event.data["left_at"])
