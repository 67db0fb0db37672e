"""``/mentors``: the registry, a mentor's status, their caseload, their do-not-match list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from matching import commands, store
from matching.api import audit, schemas, views
from matching.api.docs import ALREADY_DECLARED, DECLARED, IDEMPOTENCY_KEY
from matching.domain import fairness
from matching.domain.mentors import Contact, Mentor, MentorStatus, Safeguarding
from matching.domain.scoring import Load
from peerlink.audit import AuditPage, AuditQuery, Subject
from peerlink.db import read_transaction
from peerlink.web import current_principal, requires, service
from peerlink.web.idempotency import REPLAYED, idempotency_key

blueprint = Blueprint("mentors", __name__, url_prefix="/mentors", description="The mentor registry")


def actor() -> str:
    principal = current_principal()
    return principal.label or principal.role


def _view(mentor: Mentor, conn: sa.Connection, now: datetime) -> dict[str, Any]:
    policy, _ = store.current_policy(conn)
    load = store.loads(conn, [mentor.id]).get(mentor.id, Load())
    return views.mentor(mentor, load, policy, now.date(), current_principal())


def _views(found: list[Mentor], conn: sa.Connection, now: datetime) -> list[dict[str, Any]]:
    policy, _ = store.current_policy(conn)
    loads = store.loads(conn)
    principal = current_principal()
    return [views.mentor(m, loads.get(m.id, Load()), policy, now.date(), principal) for m in found]


@blueprint.route("")
class Mentors(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.MentorIn)
    @blueprint.response(201, schemas.MentorOut)
    @blueprint.doc(parameters=[IDEMPOTENCY_KEY])
    def post(self, body: dict[str, Any]) -> Any:
        """Register a mentor (paid or volunteer).

        Writes `mentor.registered` (pseudonymous) and `mentor-contact.recorded` (site-local,
        so that notifications can write to them) in the same transaction."""
        context, now = service(), datetime.now(UTC)
        mentor = Mentor(
            id=uuid.uuid4(),
            site=context.settings.site,
            kind=body["kind"],
            contact=Contact(**{**body["contact"], "channels": tuple(dict.fromkeys(body["contact"]["channels"]))}),
            languages=tuple(dict.fromkeys(body["languages"])),
            lived_experience=tuple(dict.fromkeys(body["lived_experience"])),
            skills=tuple(dict.fromkeys(body["skills"])),
            interests=tuple(dict.fromkeys(body["interests"])),
            availability=tuple(dict.fromkeys(body["availability"])),
            capacity=body["capacity"],
            registered_at=now,
            safeguarding=Safeguarding(**body["safeguarding"]),
            gender=body["gender"],
            person_id=body["person_id"],
        )
        with context.unit_of_work() as uow:
            created = commands.register_mentor(uow, mentor, idempotency=idempotency_key())
            view = _view(created.item, uow.connection, now)
            if not created.replayed:
                audit.changed(uow.connection, created.item.id)
            uow.commit()
        if created.replayed:
            return view, 201, {REPLAYED: "true"}
        return view

    @requires("coordinator", "service")
    @blueprint.arguments(schemas.MentorQuery, location="query")
    @blueprint.response(200, schemas.MentorPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The registry: filter by status, kind, and whether a new match is possible today."""
        now = datetime.now(UTC)
        with read_transaction(service().engine) as conn:
            found = store.list_mentors(
                conn, statuses=[query["status"]] if "status" in query else None, kind=query.get("kind")
            )
            items = _views(found, conn, now)
        if "can_be_matched" in query:
            items = [i for i in items if i["can_be_matched"] == query["can_be_matched"]]
        audit.read(item["id"] for item in items)
        return {"items": items, "total": len(items)}


@blueprint.route("/caseloads")
class Caseloads(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.CaseloadsOut)
    def get(self) -> dict[str, Any]:
        """Every active mentor's load (pending proposals count) and how evenly it is spread."""
        with read_transaction(service().engine) as conn:
            active = store.list_mentors(conn, statuses=[MentorStatus.ACTIVE.value])
            loads = store.loads(conn)
        if current_principal().role == "coordinator":  # only a coordinator sees their names here
            audit.read(m.id for m in active)
        rows = []
        for mentor in active:
            load = loads.get(mentor.id, Load())
            rows.append((mentor, fairness.Caseload(mentor.capacity, load.confirmed, load.proposed)))
        return {
            "items": [
                {
                    "mentor_id": m.id,
                    "given_name": m.contact.given_name if current_principal().role == "coordinator" else None,
                    "capacity": c.capacity,
                    "confirmed": c.confirmed,
                    "proposed": c.proposed,
                    "utilisation": round(c.utilisation, 4),
                }
                for m, c in sorted(rows, key=lambda r: -r[1].utilisation)
            ],
            "fairness": fairness.fairness([c for _, c in rows]).__dict__,
        }


@blueprint.route("/<uuid:mentor_id>")
class MentorById(MethodView):
    @requires("coordinator", "service", "mentor")
    @blueprint.response(200, schemas.MentorOut)
    def get(self, mentor_id: uuid.UUID) -> dict[str, Any]:
        """One mentor: profile, load, safeguarding, and whether anything stops a new match."""
        views.own_mentor_only(mentor_id)
        with read_transaction(service().engine) as conn:
            mentor = store.get_mentor(conn, mentor_id)
            if mentor is None:
                abort(404, message="No such mentor.")
            view = _view(mentor, conn, datetime.now(UTC))
        audit.read([mentor_id])
        return view

    @requires("coordinator")
    @blueprint.arguments(schemas.MentorPatch)
    @blueprint.response(200, schemas.MentorOut)
    def patch(self, body: dict[str, Any], mentor_id: uuid.UUID) -> dict[str, Any]:
        """Change a mentor's profile, contact details or safeguarding record (only what is sent).

        A profile change writes `mentor.updated`; a contact change `mentor-contact.recorded`."""
        changes = dict(body)
        for name in ("languages", "lived_experience", "skills", "interests", "availability"):
            if name in changes:
                changes[name] = tuple(dict.fromkeys(changes[name]))
        if "channels" in changes.get("contact", {}):
            changes["contact"]["channels"] = tuple(dict.fromkeys(changes["contact"]["channels"]))
        now = datetime.now(UTC)
        with service().unit_of_work() as uow:
            audit.changed(uow.connection, mentor_id)  # first: a refused change takes it back with it
            mentor = commands.update_mentor(uow, mentor_id, changes, at=now)
            view = _view(mentor, uow.connection, now)
            uow.commit()
        return view


def _status_view(name: str, schema: type, summary: str) -> None:
    def view(body: dict[str, Any], mentor_id: uuid.UUID) -> dict[str, Any]:
        now = datetime.now(UTC)
        with service().unit_of_work() as uow:
            audit.changed(uow.connection, mentor_id)  # first: a refused change takes it back with it
            if name == "pause":
                mentor = commands.pause_mentor(uow, mentor_id, reason=body["reason"], at=now, actor=actor())
            elif name == "resume":
                mentor = commands.resume_mentor(uow, mentor_id, at=now)
            else:
                mentor = commands.mentor_leaves(uow, mentor_id, reason=body["reason"], at=now, actor=actor())
            result = _view(mentor, uow.connection, now)
            uow.commit()
        return result

    view.__name__ = f"{name}_mentor"
    view.__doc__ = summary
    decorated = requires("coordinator")(view)
    decorated = blueprint.arguments(schema)(decorated)
    decorated = blueprint.response(200, schemas.MentorOut)(decorated)
    decorated = blueprint.alt_response(409, description="Not allowed in the mentor's status")(decorated)
    blueprint.route(f"/<uuid:mentor_id>/{name}", methods=["POST"])(decorated)


_status_view(
    "pause",
    schemas.PauseIn,
    "Pause a mentor (relapse, burnout, an expired check).\n\nTheir matches end and their proposals are "
    "cancelled; their mentees go back to the queue with priority and the worker proposes re-matches.",
)
_status_view("resume", schemas.EmptyIn, "A paused mentor is available again.")
_status_view(
    "leave",
    schemas.LeaveIn,
    "A mentor leaves the scheme.\n\nTheir mentees go back to the queue with priority and the worker "
    "proposes re-matches.",
)


@blueprint.route("/<uuid:mentor_id>/caseload")
class Caseload(MethodView):
    @requires("coordinator", "service", "mentor")
    @blueprint.response(200, schemas.CaseloadOut)
    def get(self, mentor_id: uuid.UUID) -> dict[str, Any]:
        """The mentor's mentees now (confirmed) and proposed to them: what each needs and likes."""
        views.own_mentor_only(mentor_id)
        with read_transaction(service().engine) as conn:
            mentor = store.get_mentor(conn, mentor_id)
            if mentor is None:
                abort(404, message="No such mentor.")
            live = [
                m for m in store.list_matches(conn, store.MatchFilter(mentor_id=mentor_id, limit=500))[0] if m.is_live
            ]
            requests = {m.request_id: store.get_request(conn, m.request_id) for m in live}
        audit.read([mentor_id])
        items = []
        for match in live:
            request = requests[match.request_id]
            items.append(
                {
                    "match_id": match.id,
                    "status": match.status.value,
                    "request_id": match.request_id,
                    "person_id": match.person_id,
                    "since": match.confirmed_at or match.proposed_at,
                    "support_needs": list(request.support_needs) if request else [],
                    "interests": list(request.interests) if request else [],
                    "availability": list(request.availability) if request else [],
                    "preferred_language": request.preferred_language if request else None,
                    "score": match.score,
                }
            )
        confirmed = sum(1 for m in live if m.status.value == "confirmed")
        return {
            "mentor_id": mentor_id,
            "capacity": mentor.capacity,
            "confirmed": confirmed,
            "proposed": len(live) - confirmed,
            "places_left": max(0, mentor.capacity - len(live)),
            "items": items,
        }


@blueprint.route("/<uuid:mentor_id>/do-not-match")
class MentorConflicts(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.ConflictOut(many=True))
    def get(self, mentor_id: uuid.UUID) -> list[Any]:
        """Everyone this mentor must not be matched with, whoever declared it."""
        with read_transaction(service().engine) as conn:
            if store.get_mentor(conn, mentor_id) is None:
                abort(404, message="No such mentor.")
            found = store.do_not_match_list(conn, mentor_id=mentor_id)
        audit.read([mentor_id])
        return found

    @requires("coordinator")
    @blueprint.arguments(schemas.ConflictIn)
    @blueprint.response(201, schemas.ConflictOut, description=DECLARED)
    @blueprint.alt_response(200, schema=schemas.ConflictOut, description=ALREADY_DECLARED, success=True)
    def post(self, body: dict[str, Any], mentor_id: uuid.UUID) -> Any:
        """The mentor declares a person they must not be matched with (e.g. a shared using network).

        A pending proposal between them is declined at once (conflict of interest). The same side
        declaring the same pair again is answered 200 with its first declaration: nothing changes."""
        with service().unit_of_work() as uow:
            entry, created = commands.declare_conflict(
                uow,
                person_id=body["person_id"],
                mentor_id=mentor_id,
                declared_by="mentor",
                reason=body["reason"],
                at=datetime.now(UTC),
                actor=actor(),
            )
            if created:
                audit.changed(uow.connection, mentor_id)
            uow.commit()
        if created:
            return entry
        audit.read([mentor_id])  # a repeat changes nothing but shows the first declaration, as GET does
        return entry, 200


@blueprint.route("/<uuid:mentor_id>/do-not-match/<uuid:person_id>")
class MentorConflict(MethodView):
    @requires("coordinator")
    @blueprint.response(204)
    def delete(self, mentor_id: uuid.UUID, person_id: uuid.UUID) -> None:
        """Withdraw the mentor's own declaration (a never-pair-again from an ended match stays)."""
        with service().unit_of_work() as uow:
            removed = store.remove_do_not_match(uow.connection, person_id, mentor_id, "mentor")
            if removed:
                audit.changed(uow.connection, mentor_id)
            uow.commit()
        if not removed:
            abort(404, message="The mentor declared no conflict with this person.")


@blueprint.route("/<uuid:mentor_id>/audit")
class MentorAudit(MethodView):
    @requires("coordinator")
    @blueprint.arguments(AuditQuery, location="query")
    @blueprint.response(200, AuditPage)
    def get(self, query: dict[str, Any], mentor_id: uuid.UUID) -> dict[str, Any]:
        """Who read or changed this mentor's record, newest first (reading it is recorded too)."""
        with read_transaction(service().engine) as conn:
            exists = store.get_mentor(conn, mentor_id) is not None
        return audit.TRAIL.page(
            service().engine, Subject(audit.MENTOR, mentor_id), query, exists=exists, missing="No such mentor."
        )
