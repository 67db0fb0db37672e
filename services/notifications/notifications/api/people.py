"""``/people/{id}/preferences``: what someone chose about the messages they get.

Anyone we write to has an id here: a person referred in, a mentor, a guest, a coordinator.
Preferences may be set before their contact details arrive; they narrow the consent that
comes with those details, never widen it (``effective_channels`` shows the result).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from notifications import store
from notifications.api import audit, schemas
from notifications.api.errors import Conflict, NotFound, Unprocessable
from notifications.commands import channels_for
from notifications.domain.recipients import NO_PREFERENCES, Preferences, QuietHours, Recipient, languages_for
from peerlink.audit import AuditPage, AuditQuery, Subject
from peerlink.db import read_transaction, write_transaction
from peerlink.web import current_principal, requires, service

blueprint = Blueprint("people", __name__, url_prefix="/people", description="Preferences of the people we write to")


def _chosen(body: dict[str, Any]) -> Preferences:
    quiet = body.get("quiet_hours")
    return Preferences(
        channels=tuple(body["channels"]) if body.get("channels") is not None else None,
        language=body.get("language"),
        quiet_hours=QuietHours.parse(f"{quiet['start']}-{quiet['end']}") if quiet else None,
        opt_out=frozenset(body.get("opt_out") or ()),
        digest=body.get("digest", "each"),
    )


def _view(recipient_id: str, recipient: Recipient | None, found: tuple[Preferences, Any] | None) -> dict[str, Any]:
    chosen, row = found if found else (NO_PREFERENCES, None)
    consented = list(recipient.channels) if recipient else []
    usable = [
        channel
        for channel in channels_for(recipient.audience if recipient else "person")
        if channel in consented
        and (chosen.channels is None or channel in chosen.channels)
        and (channel != "sms" or (recipient is not None and recipient.safe_to_text and not recipient.sms_stopped))
    ]
    return {
        "recipient_id": recipient_id,
        "contact_known": recipient is not None,
        "audience": recipient.audience if recipient else None,
        "consented_channels": consented,
        "safe_to_text": bool(recipient and recipient.safe_to_text),
        "texts_stopped": bool(recipient and recipient.sms_stopped),
        "preferences": {
            "channels": list(chosen.channels) if chosen.channels is not None else None,
            "language": chosen.language,
            "quiet_hours": (
                {"start": f"{chosen.quiet_hours.start:%H:%M}", "end": f"{chosen.quiet_hours.end:%H:%M}"}
                if chosen.quiet_hours
                else None
            ),
            "opt_out": sorted(chosen.opt_out),
            "digest": chosen.digest,
        },
        "effective_channels": usable,
        "languages": list(languages_for(recipient, chosen)) if recipient else list(languages_for_unknown(chosen)),
        "updated_at": row.updated_at if row else None,
        "updated_by": row.updated_by if row else None,
    }


def languages_for_unknown(chosen: Preferences) -> tuple[str, ...]:
    return (chosen.language,) if chosen.language else ("cy", "en")


@blueprint.route("/<uuid:recipient_id>/preferences")
class PreferencesById(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.PreferencesOut)
    def get(self, recipient_id: uuid.UUID) -> dict[str, Any]:
        """Their preferences, their consent as recorded with their contact details, and the result."""
        key = str(recipient_id)
        with read_transaction(service().engine) as conn:
            recipient = store.get_recipient(conn, key)
            found = store.get_preferences(conn, key)
        if (recipient is None and found is None) or (recipient is not None and recipient.erased):
            raise NotFound("Nobody with this id has contact details or preferences here.")
        audit.read([(recipient_id, None)])
        return _view(key, recipient, found)

    @requires("coordinator")
    @blueprint.arguments(schemas.PreferencesIn)
    @blueprint.response(200, schemas.PreferencesOut)
    @blueprint.alt_response(409, description="The person's data was erased")
    def put(self, body: dict[str, Any], recipient_id: uuid.UUID) -> dict[str, Any]:
        """Set their preferences (all of them: what is left out goes back to its default)."""
        key, now = str(recipient_id), datetime.now(UTC)
        chosen = _chosen(body)
        principal = current_principal()
        with write_transaction(service().engine) as conn:
            audit.changed(conn, recipient_id)  # first: a refused change takes it back with it
            recipient = store.get_recipient(conn, key)
            if recipient is not None and recipient.erased:
                raise Conflict("This person's data was erased; nothing more is kept about them.")
            if chosen.digest == "daily" and recipient is not None and recipient.audience != "coordinator":
                raise Unprocessable("/digest", "Only coordinators get a daily digest.")
            store.put_preferences(conn, key, chosen, now=now, by=principal.label or principal.role)
            found = store.get_preferences(conn, key)
        return _view(key, recipient, found)


@blueprint.route("/<uuid:recipient_id>/audit")
class RecipientAudit(MethodView):
    @requires("coordinator")
    @blueprint.arguments(AuditQuery, location="query")
    @blueprint.response(200, AuditPage)
    def get(self, query: dict[str, Any], recipient_id: uuid.UUID) -> dict[str, Any]:
        """Who read or changed this person's contact details, preferences or messages, newest first
        (kept after their erasure: it holds ids and staff, not their details; reading it is recorded)."""
        key = str(recipient_id)
        with read_transaction(service().engine) as conn:
            exists = store.get_recipient(conn, key) is not None or store.get_preferences(conn, key) is not None
        return audit.TRAIL.page(
            service().engine,
            Subject(audit.RECIPIENT, recipient_id),
            query,
            exists=exists,
            missing="Nobody with this id here.",
        )
