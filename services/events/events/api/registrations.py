"""``/events/{id}/registrations``: places for participants and public guests, the waiting list;
``/guests``: a guest's details, and their erasure."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from events import commands, store
from events.api import audit, schemas, views
from events.api.common import BOOKERS, IDEMPOTENCY_DOC, MANAGERS, now, sees_personal_data
from events.api.transactions import in_transaction
from events.domain.guests import GuestDetails
from events.domain.registration import Registration, Status
from peerlink.audit import AuditPage, AuditQuery, Subject
from peerlink.db import read_transaction
from peerlink.web import requires, service
from peerlink.web.idempotency import REPLAYED, idempotency_key

blueprint = Blueprint(
    "registrations",
    __name__,
    url_prefix="/events/<uuid:event_id>/registrations",
    description="Registrations: confirmed while places last, then a waiting list promoted in order",
)
guests = Blueprint("guests", __name__, url_prefix="/guests", description="Public guests (personal, site-local)")

LIST_READERS = (*MANAGERS, "service")


def guest_details(body: dict[str, Any]) -> GuestDetails:
    return GuestDetails(
        given_name=body["given_name"],
        family_name=body.get("family_name"),
        email=body["email"],
        phone=body.get("phone"),
        preferred_language=body.get("preferred_language"),
        channels=tuple(dict.fromkeys(body["channels"])),
    )


@blueprint.route("")
class Registrations(MethodView):
    @requires(*LIST_READERS)
    @blueprint.arguments(schemas.RegistrationQuery, location="query")
    @blueprint.response(200, schemas.RegistrationList)
    def get(self, query: dict[str, Any], event_id: uuid.UUID) -> dict[str, Any]:
        """The door list and the waiting list (in order): guests' names and emails for
        coordinators and facilitators only."""
        personal = sees_personal_data()
        with read_transaction(service().engine) as conn:
            event = store.schedule.get_event(conn, event_id)
            if event is None:
                abort(404, message="No such event.")
            items = store.places.registrations_of_event(conn, event_id, query.get("status"))
            positions = {r.id: n for n, r in enumerate(store.places.waiting_list(conn, event_id), start=1)}
            known = store.places.guests_by_id(conn, [r.guest_id for r in items if r.guest_id]) if personal else {}
            came = {a.registration_id: a for a in store.places.attendance_of_event(conn, event_id)}
        items.sort(key=lambda r: (_order(r), positions.get(r.id, 0), r.registered_at))
        audit.read((r.guest_id, r.id) for r in items if r.guest_id and r.guest_id in known)
        return {
            "items": [
                views.registration(
                    r,
                    position=positions.get(r.id),
                    guest_details=known.get(r.guest_id) if r.guest_id else None,
                    personal=personal,
                    attended=came.get(r.id),
                )
                for r in items
            ],
            "capacity": event.details.capacity,
            "places_confirmed": event.places_confirmed,
            "places_left": event.places_left,
            "waiting": event.waiting,
        }

    @requires(*BOOKERS)
    @blueprint.arguments(schemas.RegistrationIn)
    @blueprint.response(201, schemas.RegistrationOut)
    @blueprint.alt_response(
        409, description="Already registered (the participant or the mentor holds a place here already), or not open"
    )
    @blueprint.doc(parameters=[IDEMPOTENCY_DOC])
    def post(self, body: dict[str, Any], event_id: uuid.UUID) -> Any:
        """Register a participant (``person_id``, with their peer mentor if ``mentor_id``) or a
        public guest (``guest``: name and email, kept at the site). Confirmed if the places fit,
        else on the waiting list (``position``); first-time participants wait ahead of others.

        Writes `registration.confirmed` or `registration.waitlisted` (pseudonymous), and for a
        new or changed guest `guest-contact.recorded` (site-local) just before it."""
        key = idempotency_key()
        guest = guest_details(body["guest"]) if body.get("guest") else None
        wanted = body["places"] or (2 if body["mentor_id"] else 1)
        moment = now()

        def register(uow: Any) -> commands.Registered:
            registered = commands.register(
                uow,
                event_id,
                person_id=body["person_id"],
                guest=guest,
                mentor_id=body["mentor_id"],
                places_wanted=wanted,
                now=moment,
                idempotency=key,
            )
            if registered.guest is not None and not registered.replayed:
                audit.changed(uow.connection, registered.guest.id, registered.registration.id)
            return registered

        registered = in_transaction(register)
        view = views.registration(
            registered.registration,
            position=registered.position,
            guest_details=registered.guest,
            personal=sees_personal_data(),
        )
        return (view, 201, {REPLAYED: "true"}) if registered.replayed else view


def _order(registration: Registration) -> int:
    return {Status.CONFIRMED: 0, Status.WAITLISTED: 1, Status.CANCELLED: 2}[registration.status]


@blueprint.route("/<uuid:registration_id>")
@requires(*BOOKERS, "service")
@blueprint.response(200, schemas.RegistrationOut)
def get_registration(event_id: uuid.UUID, registration_id: uuid.UUID) -> dict[str, Any]:
    """One registration, with its place on the waiting list and its attendance."""
    with read_transaction(service().engine) as conn:
        found = store.places.get_registration(conn, registration_id)
        if found is None or found.event_id != event_id:
            abort(404, message="No such registration for this event.")
        position = store.places.position_of(conn, found) if found.status is Status.WAITLISTED else None
        guest = store.places.get_guest(conn, found.guest_id) if found.guest_id else None
        attended = store.places.attendance_of_registration(conn, registration_id)
    if guest is not None and sees_personal_data():
        audit.read([(guest.id, found.id)])
    return views.registration(
        found, position=position, guest_details=guest, personal=sees_personal_data(), attended=attended
    )


@blueprint.route("/<uuid:registration_id>/cancel", methods=["POST"])
@requires(*BOOKERS)
@blueprint.arguments(schemas.CancelRegistrationIn)
@blueprint.response(200, schemas.RegistrationOut)
@blueprint.alt_response(409, description="The event has started")
def cancel_registration(body: dict[str, Any], event_id: uuid.UUID, registration_id: uuid.UUID) -> dict[str, Any]:
    """Cancel before the start (again changes nothing): `registration.cancelled`, then
    `registration.promoted` for whoever the freed places go to."""
    moment = now()

    def cancel(uow: Any) -> Registration:
        gone = commands.cancel_registration(uow, event_id, registration_id, reason=body["reason"], now=moment)
        if gone.guest_id is not None:
            audit.changed(uow.connection, gone.guest_id, gone.id)
        return gone

    gone = in_transaction(cancel)
    return views.registration(gone, personal=sees_personal_data())


@guests.route("/<uuid:guest_id>")
@requires(*MANAGERS)
@guests.response(200, schemas.GuestOut)
def get_guest(guest_id: uuid.UUID) -> dict[str, Any]:
    """A guest's details as kept at the site."""
    with read_transaction(service().engine) as conn:
        found = store.places.get_guest(conn, guest_id)
    if found is None:
        abort(404, message="No such guest.")
    audit.read([(guest_id, None)])
    return views.guest(found)


@guests.route("/<uuid:guest_id>/erase", methods=["POST"])
@requires("coordinator")
@guests.response(200, schemas.GuestOut)
@guests.alt_response(409, description="Already erased")
def erase_guest(guest_id: uuid.UUID) -> dict[str, Any]:
    """Erase a guest's details on their request: their upcoming registrations are cancelled and
    an empty `guest-contact.recorded` makes notifications forget them too."""
    moment = now()

    def erase(uow: Any) -> Any:
        audit.changed(uow.connection, guest_id, action=audit.ERASE)  # first: a refused erasure takes it back
        return commands.erase_guest(uow, guest_id, now=moment)

    return views.guest(in_transaction(erase))


@guests.route("/<uuid:guest_id>/audit")
@requires("coordinator")
@guests.arguments(AuditQuery, location="query")
@guests.response(200, AuditPage)
def guest_audit(query: dict[str, Any], guest_id: uuid.UUID) -> dict[str, Any]:
    """Who read or changed this guest's record, newest first (kept after their erasure: it holds
    ids and staff, not their details; reading it is recorded too)."""
    with read_transaction(service().engine) as conn:
        exists = store.places.get_guest(conn, guest_id) is not None
    return audit.TRAIL.page(
        service().engine, Subject(audit.GUEST, guest_id), query, exists=exists, missing="No such guest."
    )
