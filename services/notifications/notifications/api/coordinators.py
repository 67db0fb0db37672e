"""``/coordinators``: the staff who get new referrals and calls to make, one by one or daily."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from notifications import store
from notifications.api import audit, schemas
from notifications.api.errors import Conflict, NotFound
from notifications.domain.recipients import Recipient
from peerlink.db import read_transaction, write_transaction
from peerlink.web import requires, service

blueprint = Blueprint("coordinators", __name__, url_prefix="/coordinators", description="Coordinators we write to")


def _view(row: Any, digest: str) -> dict[str, Any]:
    return {
        "id": row.recipient_id,
        "given_name": row.given_name,
        "email": row.email,
        "preferred_language": row.preferred_language,
        "digest": digest,
    }


@blueprint.route("")
class Coordinators(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.CoordinatorOut(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every coordinator who gets messages at this site."""
        with read_transaction(service().engine) as conn:
            rows = store.recipient_rows(conn, "coordinator")
            chosen = store.preferences_by_id(conn, [row.recipient_id for row in rows])
        audit.read((row.recipient_id, None) for row in rows)
        return [_view(row, chosen[row.recipient_id].digest if row.recipient_id in chosen else "each") for row in rows]


@blueprint.route("/<uuid:coordinator_id>")
class CoordinatorById(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.CoordinatorIn)
    @blueprint.response(200, schemas.CoordinatorOut)
    @blueprint.alt_response(409, description="The id is someone who is not a coordinator")
    def put(self, body: dict[str, Any], coordinator_id: uuid.UUID) -> dict[str, Any]:
        """Add a coordinator or change their details (their work email: staff are reached by email)."""
        key, now = str(coordinator_id), datetime.now(UTC)
        with write_transaction(service().engine) as conn:
            audit.changed(conn, coordinator_id)  # first: a refused change takes it back with it
            existing = store.get_recipient(conn, key)
            if existing is not None and (existing.audience != "coordinator" or existing.erased):
                raise Conflict("This id belongs to someone who is not a coordinator.")
            store.upsert_recipient(
                conn,
                Recipient(
                    recipient_id=key,
                    audience="coordinator",
                    given_name=body["given_name"],
                    email=body["email"],
                    phone=None,
                    preferred_language=body.get("preferred_language"),
                    channels=("email",),
                    safe_to_text=False,
                ),
                now,
            )
            row = conn.execute(sa.select(store.recipients).where(store.recipients.c.recipient_id == key)).one()
            digest = store.preferences_of(conn, key).digest
        return _view(row, digest)

    @requires("coordinator")
    @blueprint.response(204)
    def delete(self, coordinator_id: uuid.UUID) -> None:
        """Stop writing to a coordinator; what was owed to them is skipped, their details go."""
        key, now = str(coordinator_id), datetime.now(UTC)
        with write_transaction(service().engine) as conn:
            audit.changed(conn, coordinator_id, action=audit.ERASE)  # first: a refusal takes it back
            existing = store.get_recipient(conn, key)
            if existing is None or existing.audience != "coordinator":
                raise NotFound("No such coordinator.")
            store.skip_pending(
                conn,
                [store.deliveries.c.recipient_id == key],
                reason="recipient-removed",
                detail="no longer a coordinator here",
                now=now,
            )
            conn.execute(store.preferences.delete().where(store.preferences.c.recipient_id == key))
            conn.execute(store.recipients.delete().where(store.recipients.c.recipient_id == key))
