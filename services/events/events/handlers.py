"""What events does when another service speaks: ``person.erased``, ``referral.received`` and
``referral.person-resolved``."""

from __future__ import annotations

from datetime import UTC, datetime

from events import commands
from peerlink.contracts import PERSON_ERASED, REFERRAL_PERSON_RESOLVED, REFERRAL_RECEIVED
from peerlink.subscriptions import Event, HandlerContext, Subscriptions

subscriptions = Subscriptions("events")


@subscriptions.on(PERSON_ERASED)
def on_person_erased(event: Event, tx: HandlerContext) -> None:
    """Erase what events holds of the person (see :func:`commands.erase_person`); a person we
    never knew is nothing to do, not a failure."""
    commands.erase_person(tx, event.data["person_id"], now=datetime.now(UTC))


@subscriptions.on(REFERRAL_RECEIVED)
def on_referral_received(event: Event, tx: HandlerContext) -> None:
    """Whether the person may be counted by the central office: what is said about them as a
    participant stays at the site (``peerlink.site-only``) unless their newest referral agreed.

    A referral linked to someone already known (``known_person``) is only a possible duplicate:
    whoever sent it may not be her, so its consent waits for ``referral.person-resolved``."""
    data = event.data
    if data["known_person"]:
        return
    commands.record_consent(tx, data["person_id"], counted=data["counted_in_figures"], as_of=data["received_at"])


@subscriptions.on(REFERRAL_PERSON_RESOLVED)
def on_referral_person_resolved(event: Event, tx: HandlerContext) -> None:
    """A coordinator said whose the referral is: its consent speaks for them, as of the day it was
    received (so the newest referral still wins, whichever arrives first)."""
    data = event.data
    commands.record_consent(tx, data["person_id"], counted=data["counted_in_figures"], as_of=data["received_at"])
