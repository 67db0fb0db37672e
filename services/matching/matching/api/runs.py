"""``/matching-runs``: a whole-group run, pending until a coordinator publishes (or discards) it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from matching import commands, store
from matching.api import schemas
from matching.api.docs import IDEMPOTENCY_KEY
from matching.api.mentors import actor
from peerlink.db import read_transaction
from peerlink.web import requires, service
from peerlink.web.idempotency import REPLAYED, idempotency_key

blueprint = Blueprint(
    "matching-runs", __name__, url_prefix="/matching-runs", description="Whole-group runs, optimal and explained"
)


def _view(conn: sa.Connection, run_id: uuid.UUID) -> dict[str, Any]:
    run = store.get_run(conn, run_id)
    if run is None:
        abort(404, message="No such matching run.")
    proposals, unmatched = store.run_details(conn, run_id)
    return {**run, "proposals": proposals, "unmatched": unmatched}


@blueprint.route("")
class Runs(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.RunIn)
    @blueprint.response(201, schemas.RunOut)
    @blueprint.doc(parameters=[IDEMPOTENCY_KEY])
    def post(self, body: dict[str, Any]) -> Any:
        """Plan a run: the best total score for every waiting request at once (or those named).

        Hard constraints first, capacity counting pending proposals; confirmed matches and pending
        proposals stay as they are. `hold_back` keeps places free for urgent referrals. Says why
        each request left unmatched could not be matched. A draft: nothing is proposed until a
        coordinator publishes it."""
        context = service()
        with context.unit_of_work() as uow:
            created = commands.create_run(
                uow,
                site=context.settings.site,
                at=datetime.now(UTC),
                actor=actor(),
                hold_back=body["hold_back"],
                request_ids=body.get("request_ids"),  # left out: every waiting request
                idempotency=idempotency_key(),
            )
            view = _view(uow.connection, created.item["id"])
            uow.commit()
        if created.replayed:
            return view, 201, {REPLAYED: "true"}
        return view

    @requires("coordinator", "service")
    @blueprint.arguments(schemas.Page, location="query")
    @blueprint.response(200, schemas.RunPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Runs, newest first."""
        with read_transaction(service().engine) as conn:
            items, total = store.list_runs(conn, limit=query["limit"], offset=query["offset"])
        return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


@blueprint.route("/<uuid:run_id>")
class RunById(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.RunOut)
    def get(self, run_id: uuid.UUID) -> dict[str, Any]:
        """A run: its proposals with each score's breakdown, and the unmatched with their reasons."""
        with read_transaction(service().engine) as conn:
            return _view(conn, run_id)


@blueprint.route("/<uuid:run_id>/publish")
class Publish(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.PublishIn)
    @blueprint.response(200, schemas.RunOut)
    @blueprint.alt_response(409, description="Not a draft")
    def post(self, body: dict[str, Any], run_id: uuid.UUID) -> dict[str, Any]:
        """Publish a draft: each pair becomes a proposal (`match.proposed`), or a confirmed match.

        Every pair is checked again as things stand now; one that no longer holds is skipped, with why."""
        context = service()
        with context.unit_of_work() as uow:
            commands.publish_run(
                uow,
                run_id,
                leave_out=set(body["leave_out"]),
                confirm=body["confirm"],
                site=context.settings.site,
                at=datetime.now(UTC),
                actor=actor(),
            )
            view = _view(uow.connection, run_id)
            uow.commit()
        return view


@blueprint.route("/<uuid:run_id>/discard")
class Discard(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.EmptyIn)
    @blueprint.response(200, schemas.RunOut)
    @blueprint.alt_response(409, description="Not a draft")
    def post(self, body: dict[str, Any], run_id: uuid.UUID) -> dict[str, Any]:
        """Discard a draft run: nothing is proposed."""
        with service().unit_of_work() as uow:
            commands.discard_run(uow, run_id, at=datetime.now(UTC))
            view = _view(uow.connection, run_id)
            uow.commit()
        return view
