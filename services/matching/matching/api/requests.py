"""``/requests``: who waits for a mentor, the ranked suggestions for one, their do-not-match list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from matching import commands, store
from matching.api import audit, schemas, views
from matching.api.docs import ALREADY_DECLARED, DECLARED
from matching.api.mentors import actor
from matching.domain.mentors import MentorStatus
from matching.domain.scoring import explain
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint("requests", __name__, url_prefix="/requests", description="Match requests from referrals")


@blueprint.route("")
class Requests(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(schemas.RequestQuery, location="query")
    @blueprint.response(200, schemas.RequestPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Match requests, urgent first then longest waiting; filter by status (default: all)."""
        today = datetime.now(UTC).date()
        with read_transaction(service().engine) as conn:
            items, total = store.list_requests(
                conn,
                statuses=[query["status"]] if "status" in query else None,
                limit=query["limit"],
                offset=query["offset"],
            )
        return {
            "items": [views.request(r, today) for r in items],
            "total": total,
            "limit": query["limit"],
            "offset": query["offset"],
        }


@blueprint.route("/<uuid:request_id>")
class RequestById(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.RequestOut)
    def get(self, request_id: uuid.UUID) -> dict[str, Any]:
        """One match request (its id is the referral's id)."""
        with read_transaction(service().engine) as conn:
            request = store.get_request(conn, request_id)
        if request is None:
            abort(404, message="No such match request.")
        return views.request(request, datetime.now(UTC).date())


@blueprint.route("/<uuid:request_id>/suggestions")
class Suggestions(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.SuggestionsQuery, location="query")
    @blueprint.response(200, schemas.SuggestionsOut)
    def get(self, query: dict[str, Any], request_id: uuid.UUID) -> dict[str, Any]:
        """The mentors who could take this person, best first, each criterion's contribution in
        points and words; and every other mentor with the reasons, in plain words, they cannot."""
        context = service()
        now = datetime.now(UTC)
        with read_transaction(context.engine) as conn:
            request = store.get_request(conn, request_id)
            if request is None:
                abort(404, message="No such match request.")
            world = commands.situation(conn, context.settings.site, now.date(), request_ids=[request.id])
            mentors = store.list_mentors(conn, statuses=[MentorStatus.ACTIVE.value, MentorStatus.PAUSED.value])
        found = [(m, explain(request, m, world)) for m in mentors]
        eligible = sorted((pair for pair in found if pair[1].eligible), key=lambda pair: -pair[1].score)
        shown = eligible[: query["limit"]]
        excluded = [(mentor, explanation) for mentor, explanation in found if not explanation.eligible]
        # Each mentor named here (suggested or excluded), once, as GET /mentors/caseloads does;
        # the request as the related record, so a mentor's trail says whose match they were weighed for.
        audit.read((mentor.id for mentor, _ in shown + excluded), related_id=request.id)
        suggestions = []
        for rank, (mentor, explanation) in enumerate(shown, start=1):
            suggestions.append(
                {
                    "mentor_id": mentor.id,
                    "given_name": mentor.contact.given_name,
                    "kind": mentor.kind,
                    "score": round(explanation.score, 6),
                    "rank": rank,
                    "places_left": max(0, mentor.capacity - world.load(mentor.id).taken),
                    "contributions": [
                        {
                            "criterion": c.criterion,
                            "value": round(c.value, 6),
                            "weight": round(c.weight, 6),
                            "points": round(c.points, 6),
                            "reason": c.reason,
                        }
                        for c in explanation.contributions
                    ],
                }
            )
        return {
            "request": views.request(request, now.date()),
            "suggestions": suggestions,
            "excluded": [
                {
                    "mentor_id": mentor.id,
                    "given_name": mentor.contact.given_name,
                    "reasons": [{"code": e.code, "reason": e.reason} for e in explanation.exclusions],
                }
                for mentor, explanation in excluded
            ],
            "weights": world.policy.normalised,
        }


@blueprint.route("/<uuid:request_id>/do-not-match")
class RequestConflicts(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.ConflictOut(many=True))
    def get(self, request_id: uuid.UUID) -> list[Any]:
        """Every mentor this person must not be matched with, whoever declared it."""
        with read_transaction(service().engine) as conn:
            request = store.get_request(conn, request_id)
            if request is None:
                abort(404, message="No such match request.")
            return store.do_not_match_list(conn, person_id=request.person_id)

    @requires("coordinator")
    @blueprint.arguments(schemas.PersonConflictIn)
    @blueprint.response(201, schemas.ConflictOut, description=DECLARED)
    @blueprint.alt_response(200, schema=schemas.ConflictOut, description=ALREADY_DECLARED, success=True)
    def post(self, body: dict[str, Any], request_id: uuid.UUID) -> Any:
        """The person (or a coordinator for them) names a mentor they must not be matched with.

        A pending proposal between them is declined at once (conflict of interest). The same side
        declaring the same pair again is answered 200 with its first declaration: nothing changes."""
        with service().unit_of_work() as uow:
            request = store.get_request(uow.connection, request_id)
            if request is None:
                abort(404, message="No such match request.")
            entry, created = commands.declare_conflict(
                uow,
                person_id=request.person_id,
                mentor_id=body["mentor_id"],
                declared_by=body["declared_by"],
                reason=body["reason"],
                at=datetime.now(UTC),
                actor=actor(),
            )
            uow.commit()
        return entry if created else (entry, 200)


@blueprint.route("/<uuid:request_id>/do-not-match/<uuid:mentor_id>")
class RequestConflict(MethodView):
    @requires("coordinator")
    @blueprint.response(204)
    def delete(self, request_id: uuid.UUID, mentor_id: uuid.UUID) -> None:
        """Withdraw the person's (or a coordinator's) declaration about this mentor."""
        with service().unit_of_work() as uow:
            request = store.get_request(uow.connection, request_id)
            if request is None:
                abort(404, message="No such match request.")
            removed = sum(
                store.remove_do_not_match(uow.connection, request.person_id, mentor_id, side)
                for side in ("person", "coordinator")
            )
            uow.commit()
        if not removed:
            abort(404, message="No conflict with this mentor was declared for this person.")
