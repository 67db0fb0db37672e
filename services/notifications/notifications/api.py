"""The delivery log over HTTP."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from notifications import store
from notifications.schemas import DeliveryOut, DeliveryQuery
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint("deliveries", __name__, url_prefix="/deliveries", description="The delivery log")


@blueprint.route("")
class Deliveries(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(DeliveryQuery, location="query")
    @blueprint.response(200, DeliveryOut(many=True))
    def get(self, query: dict[str, Any]) -> list[Any]:
        """Messages owed and sent, newest first (no message bodies: they stay in the database)."""
        with read_transaction(service().engine) as conn:
            return store.list_deliveries(
                conn,
                status=query.get("status"),
                person_id=str(query["person_id"]) if query.get("person_id") else None,
                limit=query["limit"],
                offset=query["offset"],
            )
