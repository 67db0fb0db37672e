"""What events does when another service speaks: ``person.erased``."""

from __future__ import annotations

from datetime import UTC, datetime

from events import commands
from peerlink.contracts import PERSON_ERASED
from peerlink.subscriptions import Event, HandlerContext, Subscriptions

subscriptions = Subscriptions("events")


@subscriptions.on(PERSON_ERASED)
def on_person_erased(event: Event, tx: HandlerContext) -> None:
    """Erase what events holds of the person (see :func:`commands.erase_person`); a person we
    never knew is nothing to do, not a failure."""
    commands.erase_person(tx, event.data["person_id"], now=datetime.now(UTC))
