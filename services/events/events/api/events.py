"""``/events``: one registrable occasion each (a session of a series too), and the site's calendar."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from events import calendar, commands, store
from events.api import schemas, views
from events.api.common import MANAGERS, READERS, day_after, day_start, event_or_404, now, today_start
from events.api.transactions import in_transaction
from events.domain.schedule import Details, InvalidEvent
from events.domain.timing import instant, zone
from peerlink.bilingual import site_name
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint("events", __name__, url_prefix="/events", description="Events and their sessions")


def details_from(body: dict[str, Any], usual_venue: str | None) -> Details:
    venue = body.get("venue") or usual_venue
    if not venue:
        raise InvalidEvent("Give the venue (or a group_id, whose usual venue it then is).", "venue")
    return Details(
        kind=body["kind"],
        title_cy=body["title_cy"],
        title_en=body["title_en"],
        venue=venue,
        description_cy=body.get("description_cy"),
        description_en=body.get("description_en"),
        capacity=body.get("capacity"),
        public=body["public"],
        drop_in=body["drop_in"],
    )


def usual_venue(group_id: uuid.UUID | None) -> str | None:
    if group_id is None:
        return None
    with read_transaction(service().engine) as conn:
        group = store.schedule.get_group(conn, group_id)
    if group is None:
        raise InvalidEvent("No such group.", "group_id")
    return group.usual_venue


@blueprint.route("")
class Events(MethodView):
    @requires(*READERS)
    @blueprint.arguments(schemas.EventQuery, location="query")
    @blueprint.response(200, schemas.EventPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Events by start, from today unless ``starts_from`` says otherwise; filter by group,
        series, kind, status, public."""
        wanted = store.schedule.EventFilter(
            group_id=query.get("group_id"),
            series_id=query.get("series_id"),
            kind=query.get("kind"),
            status=query.get("status"),
            public=query.get("public"),
            starts_from=day_start(query["starts_from"]) if "starts_from" in query else today_start(),
            starts_before=day_after(query["starts_to"]) if "starts_to" in query else None,
            limit=query["limit"],
            offset=query["offset"],
        )
        with read_transaction(service().engine) as conn:
            items, total = store.schedule.list_events(conn, wanted)
        return {"items": [views.event(e) for e in items], "total": total, **{k: query[k] for k in ("limit", "offset")}}

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.EventIn)
    @blueprint.response(201, schemas.EventOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Schedule an event. Times without an offset are wall-clock times in ``timezone``
        (Europe/London unless said otherwise). Writes `artevent.scheduled`."""
        tz = zone(body["timezone"])
        starts_at = instant(body["starts_at"], tz, "starts_at")
        ends_at = instant(body["ends_at"], tz, "ends_at")
        details = details_from(body, usual_venue(body["group_id"]))
        moment = now()
        event = in_transaction(
            lambda uow: commands.schedule_event(
                uow,
                details,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=body["timezone"],
                group_id=body["group_id"],
                now=moment,
            )
        )
        return views.event(event)


@blueprint.route("/<uuid:event_id>")
class EventById(MethodView):
    @requires(*READERS)
    @blueprint.response(200, schemas.EventOut)
    def get(self, event_id: uuid.UUID) -> dict[str, Any]:
        """One event, with its places confirmed and left and its waiting list's length."""
        return views.event(event_or_404(event_id))

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.EventPatch)
    @blueprint.response(200, schemas.EventOut)
    @blueprint.alt_response(409, description="The event has started or was cancelled")
    def patch(self, body: dict[str, Any], event_id: uuid.UUID) -> dict[str, Any]:
        """Change or move an event before it starts. Writes `artevent.changed` naming what
        changed (notifications moves reminders); more places promote the waiting list."""
        tz = event_or_404(event_id).zone
        updates = dict(body)
        for field in ("starts_at", "ends_at"):
            if field in updates:
                updates[field] = instant(updates[field], tz, field)
        moment = now()
        return views.event(in_transaction(lambda uow: commands.change_event(uow, event_id, updates, now=moment)))


@blueprint.route("/<uuid:event_id>/cancel", methods=["POST"])
@requires(*MANAGERS)
@blueprint.arguments(schemas.CancelEventIn)
@blueprint.response(200, schemas.EventOut)
@blueprint.alt_response(409, description="Already cancelled, or started")
def cancel_event(body: dict[str, Any], event_id: uuid.UUID) -> dict[str, Any]:
    """Cancel the event: `artevent.cancelled`, then `registration.cancelled` (reason
    `event-cancelled`) for each registration it had."""
    moment = now()
    return views.event(
        in_transaction(lambda uow: commands.cancel_event(uow, event_id, reason=body["reason"], now=moment))
    )


calendars = Blueprint("calendars", __name__, description="The site's calendar")


@calendars.route("/calendar.ics")
@requires(*READERS)
@calendars.arguments(schemas.CalendarQuery, location="query")
@calendars.response(200, content_type="text/calendar", description="An iCalendar (RFC 5545) feed.")
def site_calendar(query: dict[str, Any]) -> Response:
    """Every event of the site from a month ago on, as an iCalendar feed (participants-only
    ones too; ``/public/calendar.ics`` has the public ones without a token)."""
    with read_transaction(service().engine) as conn:
        items = store.schedule.events_ending_after(conn, now() - calendar.PAST, limit=2000)
    names = site_name(service().settings.site)
    language = query.get("lang")
    return calendar.response(
        items, name=calendar.both(names["cy"], names["en"], language), language=language, now=now()
    )
