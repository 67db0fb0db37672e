"""``/groups``: art groups, their facilitators, their calendar and what they raised."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from events import calendar, commands, store
from events.api import schemas, views
from events.api.common import MANAGERS, READERS, day_after, day_start, now
from events.api.transactions import in_transaction
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint("groups", __name__, url_prefix="/groups", description="Art groups")

MONEY_READERS = (*MANAGERS, "service")


@blueprint.route("")
class Groups(MethodView):
    @requires(*READERS)
    @blueprint.arguments(schemas.GroupQuery, location="query")
    @blueprint.response(200, schemas.GroupOut(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The site's art groups (``active=true`` for those still meeting)."""
        with read_transaction(service().engine) as conn:
            return [views.group(g) for g in store.schedule.list_groups(conn, active=query.get("active"))]

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.GroupIn)
    @blueprint.response(201, schemas.GroupOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Start a group: its names in Welsh and English, its usual venue and how accessible it
        is, and its facilitators (person ids: participants or mentors)."""
        moment = now()
        return views.group(in_transaction(lambda uow: commands.create_group(uow, body, now=moment)))


@blueprint.route("/<uuid:group_id>")
class GroupById(MethodView):
    @requires(*READERS)
    @blueprint.response(200, schemas.GroupOut)
    def get(self, group_id: uuid.UUID) -> dict[str, Any]:
        """One group."""
        with read_transaction(service().engine) as conn:
            group = store.schedule.get_group(conn, group_id)
        if group is None:
            abort(404, message="No such group.")
        return views.group(group)

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.GroupPatch)
    @blueprint.response(200, schemas.GroupOut)
    def patch(self, body: dict[str, Any], group_id: uuid.UUID) -> dict[str, Any]:
        """Change a group (``facilitators`` replaces the list; ``active: false`` archives it)."""
        moment = now()
        return views.group(in_transaction(lambda uow: commands.update_group(uow, group_id, body, now=moment)))


@blueprint.route("/<uuid:group_id>/calendar.ics")
@requires(*READERS)
@blueprint.arguments(schemas.CalendarQuery, location="query")
@blueprint.response(200, content_type="text/calendar", description="An iCalendar (RFC 5545) feed.")
def group_calendar(query: dict[str, Any], group_id: uuid.UUID) -> Response:
    """The group's calendar: every event from a month ago on, participants-only ones too
    (``/public/groups/{id}/calendar.ics`` has the public ones without a token)."""
    with read_transaction(service().engine) as conn:
        group = store.schedule.get_group(conn, group_id)
        if group is None:
            abort(404, message="No such group.")
        items = store.schedule.events_ending_after(conn, now() - calendar.PAST, group_id=group_id)
    return calendar.response(
        items, name=calendar.group_name(group, query.get("lang")), language=query.get("lang"), now=now()
    )


@blueprint.route("/<uuid:group_id>/sales")
@requires(*MONEY_READERS)
@blueprint.arguments(schemas.GroupSalesQuery, location="query")
@blueprint.response(200, schemas.GroupSales)
def group_sales(query: dict[str, Any], group_id: uuid.UUID) -> dict[str, Any]:
    """What the group raised (voided sales left out): its own artworks and card designs wherever
    they sold (another group's exhibition too), and whatever else sold at its own events
    (donations, works of no group); totals by kind and per event, optionally between two days
    (site time, inclusive). Each sale counts for one group, so the groups add up to the events."""
    recorded_from = day_start(query["recorded_from"]) if "recorded_from" in query else None
    recorded_before = day_after(query["recorded_to"]) if "recorded_to" in query else None
    with read_transaction(service().engine) as conn:
        if store.schedule.get_group(conn, group_id) is None:
            abort(404, message="No such group.")
        totals = store.ledger.sale_totals(
            conn, group_id=group_id, recorded_from=recorded_from, recorded_before=recorded_before
        )
        per_event = store.ledger.sale_totals_by_event(
            conn, group_id, recorded_from=recorded_from, recorded_before=recorded_before
        )
        titled = {e.id: e for e in store.schedule.events_by_id(conn, per_event)}
    return {
        "group_id": group_id,
        "totals": views.totals(totals),
        "events": [
            {
                "event_id": event_id,
                "title_cy": titled[event_id].details.title_cy,
                "title_en": titled[event_id].details.title_en,
                "starts_at": views.local_time(titled[event_id].starts_at, titled[event_id]),
                "sales": count,
                "amount_pence": amount,
                "artist_share_pence": artist,
                "scheme_share_pence": scheme,
            }
            for event_id, (count, amount, artist, scheme) in sorted(
                per_event.items(), key=lambda item: titled[item[0]].starts_at
            )
        ],
    }
