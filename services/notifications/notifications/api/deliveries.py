"""``/deliveries``: the delivery log, one row per message, recipient and channel."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from notifications import store
from notifications.api import audit, schemas
from peerlink.db import read_transaction
from peerlink.web import current_principal, requires, service

blueprint = Blueprint("deliveries", __name__, url_prefix="/deliveries", description="The delivery log")

READERS = ("coordinator", "service")


LOGGED = frozenset(column.name for column in store.LOG_COLUMNS)


def view(row: Any) -> dict[str, Any]:
    """What the log shows of a delivery: never what it said (see ``DeliveryById``)."""
    found = {key: value for key, value in row._mapping.items() if key in LOGGED}
    found["languages"] = found["languages"].split(",") if found.get("languages") else None
    if found.get("status") != store.PENDING:
        found["due_at"] = None
    return found


def _filters(query: dict[str, Any]) -> dict[str, Any]:
    filters = {k: v for k, v in query.items() if k not in ("limit", "offset", "person_id")}
    if query.get("person_id") and not query.get("recipient_id"):
        filters["recipient_id"] = query["person_id"]
    return filters


@blueprint.route("")
class Deliveries(MethodView):
    @requires(*READERS)
    @blueprint.arguments(schemas.DeliveryQuery, location="query")
    @blueprint.response(200, schemas.DeliveryOut(many=True), headers={"X-Total-Count": {"schema": {"type": "integer"}}})
    def get(self, query: dict[str, Any]) -> Response:
        """Messages owed, sent, skipped and failed, newest first, with why (``reason``).

        Filter by status, kind, channel, audience, recipient, causing event, art event, reason
        and time owed. ``X-Total-Count`` says how many match in all."""
        with read_transaction(service().engine) as conn:
            rows, total = store.list_deliveries(conn, _filters(query), limit=query["limit"], offset=query["offset"])
        return [view(row) for row in rows], 200, {"X-Total-Count": str(total)}  # type: ignore[return-value]


@blueprint.route("/summary")
class Summary(MethodView):
    @requires(*READERS)
    @blueprint.arguments(schemas.DeliveryQuery, location="query")
    @blueprint.response(200, schemas.CountOut(many=True))
    def get(self, query: dict[str, Any]) -> list[Any]:
        """How many deliveries, by kind, channel and status (the same filters as the log)."""
        with read_transaction(service().engine) as conn:
            return [dict(row._mapping) for row in store.delivery_counts(conn, _filters(query))]


@blueprint.route("/<uuid:delivery_id>")
class DeliveryById(MethodView):
    @requires(*READERS)
    @blueprint.response(200, schemas.DeliveryDetailOut)
    def get(self, delivery_id: uuid.UUID) -> dict[str, Any]:
        """One delivery; coordinators also see what it said (until the person is erased)."""
        with read_transaction(service().engine) as conn:
            row = store.get_delivery(conn, delivery_id)
        if row is None:
            abort(404, message="No such delivery.")
        found = {**view(row), "values": row.values or {}}
        if current_principal().role == "coordinator":
            found.update(subject=row.subject, body=row.body)
            if row.recipient_id:  # what was written to them is their record too
                audit.read([(row.recipient_id, delivery_id)])
        return found
