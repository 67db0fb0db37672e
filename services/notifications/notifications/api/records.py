"""``/reminders`` and ``/compliance/language-decisions``: what is scheduled, and what was decided."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from notifications import store
from notifications.api import notifications, schemas
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint("records", __name__, url_prefix="", description="Reminders and compliance records")


@blueprint.route("/reminders")
class Reminders(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(schemas.ReminderQuery, location="query")
    @blueprint.response(200, schemas.ReminderOut(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Event reminders by the time of their event, with when each falls due."""
        before = notifications().settings.reminder_before
        with read_transaction(service().engine) as conn:
            rows = store.list_reminders(
                conn,
                art_event_id=str(query["art_event_id"]) if query.get("art_event_id") else None,
                status=query.get("status"),
                limit=query["limit"],
                offset=query["offset"],
            )
        return [{**row._mapping, "due_at": row.starts_at - before if before else None} for row in rows]


@blueprint.route("/compliance/language-decisions")
class LanguageDecisions(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(schemas.LanguageDecisionQuery, location="query")
    @blueprint.response(200, schemas.LanguageDecisionOut(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Welsh Language Standards: every message sent in both languages, Welsh first, because the
        recipient's preference was not known (newest first)."""
        with read_transaction(service().engine) as conn:
            rows = store.list_language_decisions(
                conn,
                recipient_id=str(query["recipient_id"]) if query.get("recipient_id") else None,
                since=query.get("since"),
                limit=query["limit"],
                offset=query["offset"],
            )
        return [{**row._mapping, "languages": row.languages.split(",")} for row in rows]
