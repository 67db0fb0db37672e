"""``/matches``: a proposal by hand, its confirmation or decline, its end, the feedback, and the
report of which criteria predicted the good matches."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from matching import commands, store
from matching.api import schemas, views
from matching.api.docs import IDEMPOTENCY_KEY
from matching.api.mentors import actor
from matching.domain import feedback as feedback_domain
from matching.domain.feedback import SIDES
from peerlink.db import read_transaction
from peerlink.web import current_principal, requires, service
from peerlink.web.idempotency import REPLAYED, idempotency_key

blueprint = Blueprint("matches", __name__, url_prefix="/matches", description="Matches and their lifecycle")


def _view(conn: sa.Connection, match_id: uuid.UUID) -> dict[str, Any]:
    match = store.get_match(conn, match_id)
    if match is None:
        abort(404, message="No such match.")
    return views.match(match, store.feedback_of(conn, [match.id]).get(match.id, []))


def _own_match(conn: sa.Connection, match_id: uuid.UUID) -> None:
    """A mentor's token acts only on the mentor's own matches."""
    if current_principal().role != "mentor":
        return
    match = store.get_match(conn, match_id)
    if match is None:
        abort(404, message="No such match.")
    views.own_mentor_only(match.mentor_id)


@blueprint.route("")
class Matches(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(schemas.MatchQuery, location="query")
    @blueprint.response(200, schemas.MatchPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Matches, newest first: filter by status, mentor, request or run."""
        with read_transaction(service().engine) as conn:
            items, total = store.list_matches(conn, store.MatchFilter(**query))
            answers = store.feedback_of(conn, [m.id for m in items])
        return {
            "items": [views.match(m, answers.get(m.id, [])) for m in items],
            "total": total,
            "limit": query["limit"],
            "offset": query["offset"],
        }

    @requires("coordinator")
    @blueprint.arguments(schemas.MatchIn)
    @blueprint.response(201, schemas.MatchOut)
    @blueprint.alt_response(409, description="A hard constraint forbids the pair, or the request is not waiting")
    @blueprint.doc(parameters=[IDEMPOTENCY_KEY])
    def post(self, body: dict[str, Any]) -> Any:
        """Propose a pairing by hand (every hard constraint still applies); `confirm` confirms it at once.

        Writes `match.proposed` (and `match.confirmed`)."""
        context = service()
        with context.unit_of_work() as uow:
            created = commands.propose_match(
                uow,
                request_id=body["request_id"],
                mentor_id=body["mentor_id"],
                site=context.settings.site,
                at=datetime.now(UTC),
                actor=actor(),
                confirm=body["confirm"],
                idempotency=idempotency_key(),
            )
            view = _view(uow.connection, created.item.id)
            uow.commit()
        if created.replayed:
            return view, 201, {REPLAYED: "true"}
        return view


@blueprint.route("/criteria-report")
class CriteriaReport(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.CriteriaReportOut)
    def get(self) -> dict[str, Any]:
        """Which criteria predicted good matches, from the feedback on ended matches.

        A match is good when every side that answered says it helped and would be matched
        like this again; each criterion's value when the match was proposed is compared
        between good and poor matches."""
        with read_transaction(service().engine) as conn:
            ended = store.ended_matches_with_feedback(conn)
            policy, _ = store.current_policy(conn)
        rows = [(m.breakdown, bool(feedback_domain.is_good(answers))) for m, answers in ended]
        total, good, findings = feedback_domain.criteria_report(rows, policy.normalised)
        return {"matches_with_feedback": total, "good_matches": good, "criteria": [f.__dict__ for f in findings]}


@blueprint.route("/<uuid:match_id>")
class MatchById(MethodView):
    @requires("coordinator", "service", "mentor")
    @blueprint.response(200, schemas.MatchOut)
    def get(self, match_id: uuid.UUID) -> dict[str, Any]:
        """One match: its score and breakdown when proposed, and who decided what, when and why."""
        with read_transaction(service().engine) as conn:
            _own_match(conn, match_id)
            return _view(conn, match_id)


@blueprint.route("/<uuid:match_id>/confirm")
class Confirm(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.ConfirmIn)
    @blueprint.response(200, schemas.MatchOut)
    @blueprint.alt_response(409, description="Not proposed, or the mentor's safeguarding lapsed since")
    def post(self, body: dict[str, Any], match_id: uuid.UUID) -> dict[str, Any]:
        """Confirm a proposed match (both sides agreed): writes `match.confirmed`."""
        context = service()
        with context.unit_of_work() as uow:
            commands.confirm_match(uow, match_id, site=context.settings.site, at=datetime.now(UTC), actor=actor())
            view = _view(uow.connection, match_id)
            uow.commit()
        return view


@blueprint.route("/<uuid:match_id>/decline")
class Decline(MethodView):
    @requires("coordinator", "mentor")
    @blueprint.arguments(schemas.DeclineIn)
    @blueprint.response(200, schemas.MatchOut)
    @blueprint.alt_response(409, description="Not proposed")
    def post(self, body: dict[str, Any], match_id: uuid.UUID) -> dict[str, Any]:
        """Decline a proposal, saying who (coordinator, mentor, mentee) and why: writes `match.declined`.

        A mentor's own token declines only their own proposals, as the mentor."""
        declined_by = body["declined_by"]
        with service().unit_of_work() as uow:
            _own_match(uow.connection, match_id)
            if current_principal().role == "mentor" and declined_by != "mentor":
                abort(
                    422,
                    errors=[{"pointer": "/declined_by", "detail": "A mentor declines as the mentor."}],
                )
            commands.decline_match(uow, match_id, by=declined_by, reason=body["reason"], at=datetime.now(UTC))
            view = _view(uow.connection, match_id)
            uow.commit()
        return view


@blueprint.route("/<uuid:match_id>/end")
class End(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.EndIn)
    @blueprint.response(200, schemas.MatchOut)
    @blueprint.alt_response(409, description="Not confirmed")
    def post(self, body: dict[str, Any], match_id: uuid.UUID) -> dict[str, Any]:
        """End a confirmed match with a reason, optionally never to pair them again: writes `match.ended`.

        The person waits for a mentor again (referrals puts them back on its waiting list)."""
        with service().unit_of_work() as uow:
            commands.end_match(
                uow,
                match_id,
                reason=body["reason"],
                never_pair_again=body["never_pair_again"],
                at=datetime.now(UTC),
                actor=actor(),
            )
            view = _view(uow.connection, match_id)
            uow.commit()
        return view


@blueprint.route("/<uuid:match_id>/feedback/<string:side>")
class FeedbackBySide(MethodView):
    @requires("coordinator", "mentor")
    @blueprint.arguments(schemas.FeedbackIn)
    @blueprint.response(200, schemas.FeedbackOut)
    @blueprint.alt_response(409, description="The match has not ended")
    def put(self, body: dict[str, Any], match_id: uuid.UUID, side: str) -> Any:
        """One side's feedback on an ended match (`mentee` or `mentor`); sending it again replaces it.

        A mentor's own token gives the mentor's side of their own matches."""
        if side not in SIDES:
            abort(404, message="The sides are mentee and mentor.")
        if current_principal().role == "mentor" and side != "mentor":
            abort(403, message="A mentor gives the mentor's side only.")
        with service().unit_of_work() as uow:
            _own_match(uow.connection, match_id)
            item = commands.record_feedback(
                uow,
                match_id,
                side=side,
                helped=body["helped"],
                would_match_again=body["would_match_again"],
                ended_because=body["ended_because"],
                at=datetime.now(UTC),
                actor=actor(),
            )
            uow.commit()
        return item
