"""What a delivery says, from the world as it is when it falls due: the template context (the
recipient's name, the event's title and time now, the mentor's name...) and whether what it
would say is still true."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from notifications import store
from notifications.domain import wording
from notifications.domain.recipients import Preferences, Recipient
from peerlink.bilingual import site_name

REGISTRATION_KINDS = frozenset({"registration-confirmed", "registration-waitlisted", "registration-promoted"})
EVENT_KINDS = frozenset({"event-reminder", "event-changed", "event-cancelled"})
# How long a message about an event waits for the event's own details (title, venue) to arrive.
WAIT_FOR_EVENT = timedelta(minutes=10)


@dataclass
class World:
    recipients: dict[str, Recipient] = field(default_factory=dict)
    preferences: dict[str, Preferences] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)
    registrations: dict[str, Any] = field(default_factory=dict)
    digests: dict[uuid.UUID, list[Any]] = field(default_factory=dict)


def load_world(conn: Connection, rows: list[Any]) -> World:
    digests = {row.id: store.digest_items(conn, row.id) for row in rows if row.kind == "digest"}
    items = [item for found in digests.values() for item in found]
    people = {row.recipient_id for row in rows} | {row.about_id for row in [*rows, *items] if row.about_id}
    return World(
        recipients=store.recipients_by_id(conn, people),
        preferences=store.preferences_by_id(conn, {row.recipient_id for row in rows}),
        events=store.art_events_by_id(conn, {row.art_event_id for row in [*rows, *items]}),
        registrations=store.registrations_by_id(conn, {row.registration_id for row in rows}),
        digests=digests,
    )


def no_longer_true(row: Any, world: World, now: datetime) -> str | None:
    """Why a message would now be wrong (None: it is still right to send)."""
    registration = world.registrations.get(row.registration_id) if row.registration_id else None
    event = world.events.get(row.art_event_id) if row.art_event_id else None
    if row.kind in REGISTRATION_KINDS | {"event-reminder"} and registration is not None:
        if registration.status == "cancelled":
            return "the registration was cancelled"
        if row.kind == "registration-waitlisted" and registration.status != "waitlisted":
            return "no longer on the waiting list"
    cancellable = REGISTRATION_KINDS | {"event-reminder", "event-changed"}
    if row.kind in cancellable and event is not None and event.status == "cancelled":
        return "the event was cancelled"
    if row.kind == "event-reminder":
        owed_for = datetime.fromisoformat(row.values["starts_at"])
        if event is not None and event.starts_at != owed_for:
            return "the event moved"
        if owed_for <= now:
            return "the event has begun"
    return None


def waiting_for_event(row: Any, world: World, now: datetime) -> bool:
    """A message about an event whose details have not arrived yet waits a little for them."""
    return (
        row.art_event_id is not None
        and row.kind in REGISTRATION_KINDS | EVENT_KINDS
        and world.events.get(row.art_event_id) is None
        and now - row.created_at < WAIT_FOR_EVENT
    )


def template_context(row: Any, recipient: Recipient, world: World, *, site: str) -> dict[str, Any]:
    values = dict(row.values or {})
    event = world.events.get(row.art_event_id) if row.art_event_id else None
    context: dict[str, Any] = {
        **values,
        "kind": row.kind,
        "audience": row.audience,
        "given_name": recipient.given_name or "",
        "site_name": site_name(site),
        "other_name": _name(world, row.about_id),
        "person_id": row.about_id,
        **_event(event, values.get("starts_at")),
    }
    if row.kind == "please-phone":
        context["about_label"] = {lang: wording.kind_label(values.get("about_kind", ""), lang) for lang in ("cy", "en")}
    if row.kind == "digest":
        context["items"] = [_digest_item(item, world) for item in world.digests.get(row.id, [])]
    return context


def _event(event: Any, owed_for: str | None) -> dict[str, Any]:
    """The event as it is now: its title in both languages (None if unknown), venue and times."""
    if event is None:
        return {"title": None, "venue": None, "starts_at": owed_for, "ends_at": None}
    titles = {"cy": event.title_cy or event.title_en, "en": event.title_en or event.title_cy}
    return {
        "title": titles if titles["en"] else None,
        "venue": event.venue,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
    }


def _name(world: World, recipient_id: str | None) -> str | None:
    found = world.recipients.get(recipient_id) if recipient_id else None
    return found.given_name if found and not found.erased else None


def _digest_item(item: Any, world: World) -> dict[str, Any]:
    values = item.values or {}
    about = values.get("about_kind")
    return {
        "kind": item.kind,
        "at": item.created_at,
        "reference": values.get("reference"),
        "name": _name(world, item.about_id),
        "about_label": {lang: wording.kind_label(about, lang) for lang in ("cy", "en")} if about else None,
        "welsh_preferred": bool(values.get("welsh_preferred")),
    }
