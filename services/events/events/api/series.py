"""``/series``: weekly (or monthly) sessions from an RFC 5545 rule, made ahead to a horizon."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from events import commands, store
from events.api import schemas, views
from events.api.common import MANAGERS, READERS, now
from events.api.events import details_from, usual_venue
from events.api.transactions import in_transaction
from events.domain.schedule import Series
from events.domain.timing import zone
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint(
    "series",
    __name__,
    url_prefix="/series",
    description="Recurring sessions. Each session is an event of its own (see /events?series_id=), made "
    "`horizon_weeks` ahead by the worker, and cancelled or moved one by one like any event.",
)


def _view(item: Series) -> dict[str, Any]:
    with read_transaction(service().engine) as conn:
        upcoming, _ = store.schedule.list_events(
            conn, store.schedule.EventFilter(series_id=item.id, starts_from=now(), limit=200)
        )
    return views.series(item, upcoming)


@blueprint.route("")
class SeriesList(MethodView):
    @requires(*READERS)
    @blueprint.arguments(schemas.SeriesQuery, location="query")
    @blueprint.response(200, schemas.SeriesOut(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The site's series (of a group)."""
        with read_transaction(service().engine) as conn:
            found = store.schedule.list_series(conn, group_id=query.get("group_id"))
        return [_view(item) for item in found]

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.SeriesIn)
    @blueprint.response(201, schemas.SeriesOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Start a series: ``rrule`` (e.g. ``FREQ=WEEKLY;BYDAY=TU``) from ``first_starts_at``, a
        wall-clock time kept across clock changes. Its sessions up to ``horizon_weeks`` ahead
        are made at once (one `artevent.scheduled` each), later ones as time goes on."""
        tz = zone(body["timezone"])
        first = body["first_starts_at"]
        first_wall = first.astimezone(tz).replace(tzinfo=None) if first.tzinfo else first
        details = details_from(body, usual_venue(body["group_id"]))
        moment = now()
        item, _ = in_transaction(
            lambda uow: commands.create_series(
                uow,
                details,
                group_id=body["group_id"],
                rule=body["rrule"],
                first_wall=first_wall,
                duration=timedelta(minutes=body["duration_minutes"]),
                timezone=body["timezone"],
                horizon_weeks=body["horizon_weeks"],
                now=moment,
            )
        )
        return _view(item)


@blueprint.route("/<uuid:series_id>")
@requires(*READERS)
@blueprint.response(200, schemas.SeriesOut)
def get_series(series_id: uuid.UUID) -> dict[str, Any]:
    """One series, with its sessions to come."""
    with read_transaction(service().engine) as conn:
        item = store.schedule.get_series(conn, series_id)
    if item is None:
        abort(404, message="No such series.")
    return _view(item)


@blueprint.route("/<uuid:series_id>/end", methods=["POST"])
@requires(*MANAGERS)
@blueprint.arguments(schemas.EndSeriesIn)
@blueprint.response(200, schemas.SeriesOut)
@blueprint.alt_response(409, description="Already ended")
def end_series(body: dict[str, Any], series_id: uuid.UUID) -> dict[str, Any]:
    """End the series: no more sessions are made, and those made from ``after`` (default: all
    to come) are cancelled with ``reason``."""
    moment = now()
    after = body.get("after")
    if after is not None and after.tzinfo is None:
        with read_transaction(service().engine) as conn:
            found = store.schedule.get_series(conn, series_id)
        if found is None:
            abort(404, message="No such series.")
        after = after.replace(tzinfo=found.zone)
    item, _ = in_transaction(
        lambda uow: commands.end_series(uow, series_id, after=after or moment, reason=body["reason"], now=moment)
    )
    return _view(item)
