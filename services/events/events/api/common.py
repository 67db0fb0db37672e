"""What every resource module needs: the clock, the roles, the lookups that answer 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_smorest import abort

from events import commands, store
from events.domain.schedule import ArtEvent
from events.domain.timing import DEFAULT_ZONE
from peerlink.db import read_transaction
from peerlink.web import current_principal, idempotency, service

CLOCK = "events.clock"
MANAGERS = ("coordinator", "facilitator")
BOOKERS = ("coordinator", "facilitator", "mentor")
READERS = ("coordinator", "facilitator", "mentor", "service")
# Who sees guests' names and emails, and artists' names: the people running the door and the sales.
PERSONAL_READERS = frozenset(MANAGERS)
SITE_ZONE = ZoneInfo(DEFAULT_ZONE)

IDEMPOTENCY_DOC = idempotency.parameter(
    "A retry with the same key returns what the first request made instead of a second one."
)


def now() -> datetime:
    clock: Callable[[], datetime] = current_app.extensions[CLOCK]
    return clock()


def actor() -> commands.Actor:
    """Who is asking, as a record of their change says (the token's label, else its role)."""
    principal = current_principal()
    return commands.Actor(principal.label or principal.role, principal.role)


def sees_personal_data() -> bool:
    return current_principal().role in PERSONAL_READERS


def day_start(day: date) -> datetime:
    """The start of a day on the site's clock, as an instant."""
    return datetime.combine(day, time(), SITE_ZONE)


def day_after(day: date) -> datetime:
    return day_start(day + timedelta(days=1))


def today_start() -> datetime:
    return day_start(now().astimezone(SITE_ZONE).date())


def event_or_404(event_id: uuid.UUID) -> ArtEvent:
    with read_transaction(service().engine) as conn:
        event = store.schedule.get_event(conn, event_id)
    if event is None:
        abort(404, message="No such event.")
    return event


def clock_now() -> datetime:
    return datetime.now(UTC)
