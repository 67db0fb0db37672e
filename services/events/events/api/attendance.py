"""``/events/{id}/attendance``: who came, who did not, and heads counted at the door."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from events import commands, store
from events.api import audit, schemas, views
from events.api.common import MANAGERS, now, sees_personal_data
from events.api.transactions import in_transaction
from events.domain.attendance import Attendance
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint(
    "attendance",
    __name__,
    url_prefix="/events/<uuid:event_id>/attendance",
    description="Attendance: a gentle signal (a missed session may nudge the mentor), never a ban",
)


@blueprint.route("")
class AttendanceRegister(MethodView):
    @requires(*MANAGERS, "service")
    @blueprint.response(200, schemas.AttendanceRegister)
    def get(self, event_id: uuid.UUID) -> dict[str, Any]:
        """The register: each confirmed registration with its attendance, the drop-in count and
        the totals. A registration still unmarked a while after the end (24 hours by default) is
        assumed a no-show once someone has taken the register (``assumed``); marking it corrects it."""
        personal = sees_personal_data()
        with read_transaction(service().engine) as conn:
            if store.schedule.get_event(conn, event_id) is None:
                abort(404, message="No such event.")
            confirmed = store.places.registrations_of_event(conn, event_id, "confirmed")
            records = store.places.attendance_of_event(conn, event_id)
            known = store.places.guests_by_id(conn, [r.guest_id for r in confirmed if r.guest_id]) if personal else {}
        audit.read((r.guest_id, r.id) for r in confirmed if r.guest_id and r.guest_id in known)
        by_registration = {a.registration_id: a for a in records if a.registration_id}
        drop_in = next((a for a in records if a.status == "drop-in"), None)
        marked = [by_registration[r.id] for r in confirmed if r.id in by_registration]
        registered_heads = sum(a.headcount for a in marked)
        drop_in_heads = drop_in.headcount if drop_in else 0
        return {
            "items": [
                views.registration(
                    r,
                    guest_details=known.get(r.guest_id) if r.guest_id else None,
                    personal=personal,
                    attended=by_registration.get(r.id),
                )
                for r in confirmed
            ],
            "drop_in": views.attendance(drop_in),
            "summary": {
                "registered_places": sum(r.places for r in confirmed),
                "attended": sum(1 for a in marked if a.status == "attended"),
                "no_shows": sum(1 for a in marked if a.status == "no-show"),
                "assumed_no_shows": sum(1 for a in marked if a.assumed),
                "unmarked": len(confirmed) - len(marked),
                "registered_heads": registered_heads,
                "drop_in_heads": drop_in_heads,
                "total_heads": registered_heads + drop_in_heads,
            },
        }

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.AttendanceIn)
    @blueprint.response(201, schemas.AttendanceOut)
    @blueprint.alt_response(409, description="Not open yet, cancelled, or not a confirmed registration")
    def post(self, body: dict[str, Any], event_id: uuid.UUID) -> dict[str, Any]:
        """Record attendance from two hours before the start: ``attended`` or ``no-show`` for a
        ``registration_id``, or ``drop-in`` with a ``headcount`` of people without one. Again
        for the same registration (or the drop-in count) corrects it. Writes `attendance.recorded`."""
        moment = now()

        def mark(uow: Any) -> Attendance:
            record = commands.record_attendance(
                uow,
                event_id,
                status=body["status"],
                registration_id=body["registration_id"],
                headcount=body["headcount"],
                now=moment,
            )
            # Whether a public guest came is part of their record, as their registration is:
            # the entry commits with the mark (a refused mark raised above and leaves none).
            guest_id = store.places.guest_of_registration(uow.connection, record.registration_id)
            if guest_id is not None:
                audit.changed(uow.connection, guest_id, record.registration_id)
            return record

        return views.attendance(in_transaction(mark)) or {}
