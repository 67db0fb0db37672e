"""What referrals does when matching confirms or ends a match."""

from __future__ import annotations

from peerlink.contracts import MATCH_CONFIRMED, MATCH_ENDED
from peerlink.subscriptions import Event, HandlerContext, PermanentFailure, Subscriptions
from referrals import commands

subscriptions = Subscriptions("referrals")


@subscriptions.on(MATCH_CONFIRMED)
def on_match_confirmed(event: Event, tx: HandlerContext) -> None:
    data = event.data
    try:
        commands.match_confirmed(
            tx,
            referral_id=data["referral_id"],
            match_id=data["match_id"],
            mentor_id=data["mentor_id"],
            at=data["confirmed_at"],
        )
    except commands.NotFound as exc:
        raise PermanentFailure(str(exc)) from None


@subscriptions.on(MATCH_ENDED)
def on_match_ended(event: Event, tx: HandlerContext) -> None:
    data = event.data
    try:
        commands.match_ended(
            tx, referral_id=data["referral_id"], match_id=data["match_id"], reason=data["reason"], at=data["ended_at"]
        )
    except commands.NotFound as exc:
        raise PermanentFailure(str(exc)) from None
