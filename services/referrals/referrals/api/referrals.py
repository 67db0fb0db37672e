"""``/referrals``: intake, the list, one referral, its transitions and its check-ins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from peerlink.db import read_transaction
from peerlink.web import current_principal, idempotency, requires, service
from peerlink.web.idempotency import REPLAYED, idempotency_key
from referrals import commands, store
from referrals.api import audit, schemas, views
from referrals.domain import intake, outcomes
from referrals.domain.workflow import Action

blueprint = Blueprint("referrals", __name__, url_prefix="/referrals", description="Referrals and their triage")

READERS = ("coordinator", "service")


def new_referral_from(body: dict[str, Any], *, self_referral: bool = False) -> intake.NewReferral:
    person, contact = body["person"], body["person"]["contact"]
    return intake.NewReferral(
        given_name=person["given_name"],
        family_name=person["family_name"],
        date_of_birth=person["date_of_birth"],
        preferred_language=person["preferred_language"],
        contact=intake.ContactDetails(
            email=contact.get("email"),
            phone=contact.get("phone"),
            channels=tuple(dict.fromkeys(contact["channels"])),
            safe_to_text=contact.get("safe_to_text", False),
        ),
        source=body["source"],
        support_needs=tuple(body["support_needs"]),
        consent_to_share=body["consent"]["share_with_mentor"],
        share_with_gp=body["consent"].get("share_with_gp", False),
        counted_in_figures=body["consent"]["counted_in_figures"],
        consent_wording_version=body["consent"]["wording_version"],
        interests=tuple(body.get("interests", ())),
        availability=tuple(body.get("availability", ())),
        preferences=intake.Preferences(**body.get("preferences", {})),
        risk_flags=tuple(body.get("risk_flags", ())),
        risk_note=body.get("risk_note"),
        self_referral=self_referral,
    )


def take(new: intake.NewReferral, idempotency: tuple[str, str] | None = None) -> commands.Taken:
    """The one intake every door uses (this API and the public self-referral page)."""
    context = service()
    now = datetime.now(UTC)
    try:
        with context.unit_of_work() as uow:
            taken = commands.take_referral(uow, new, site=context.settings.site, now=now, idempotency=idempotency)
            if not taken.replayed:
                audit.changed(uow.connection, taken.person.id, taken.referral.id)
            uow.commit()
    except sa.exc.IntegrityError:
        # The same Idempotency-Key in a request that raced this one: theirs is the referral.
        with context.unit_of_work() as uow:
            taken = commands.take_referral(uow, new, site=context.settings.site, now=now, idempotency=idempotency)
    return taken


@blueprint.route("")
class Referrals(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(schemas.ReferralIn)
    @blueprint.response(201, schemas.ReferralOut)
    @blueprint.doc(
        parameters=[
            idempotency.parameter("A retry with the same key returns the first referral instead of a second one.")
        ]
    )
    def post(self, body: dict[str, Any]) -> Any:
        """Take a referral in.

        Stores the person (or links them to the person already known by name and date of
        birth, email or phone) and the referral; writes `referral.received` (pseudonymous)
        and `contact.recorded` (site-local) in the same transaction.
        """
        if body["site"] != service().settings.site:
            abort(
                422,
                errors=[{"pointer": "/site", "detail": f"Unknown site; this instance is {service().settings.site!r}."}],
            )
        taken = take(new_referral_from(body), idempotency_key())
        view = views.referral(taken.referral, current_principal())
        if taken.replayed:
            return view, 201, {REPLAYED: "true"}
        return view

    @requires(*READERS)
    @blueprint.arguments(schemas.ReferralQuery, location="query")
    @blueprint.response(200, schemas.ReferralPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List referrals: filter by status, source, need and date received; sort; page."""
        with read_transaction(service().engine) as conn:
            items, total = store.list_referrals(conn, store.ReferralFilter(**query))
        audit.read((item.person_id, item.id) for item in items)
        principal = current_principal()
        return {
            "items": [views.referral(item, principal) for item in items],
            "total": total,
            "limit": query["limit"],
            "offset": query["offset"],
        }


@blueprint.route("/<uuid:referral_id>")
class ReferralById(MethodView):
    @requires(*READERS)
    @blueprint.response(200, schemas.ReferralOut)
    def get(self, referral_id: uuid.UUID) -> dict[str, Any]:
        """One referral, with the actions its status allows."""
        with read_transaction(service().engine) as conn:
            referral = store.get_referral(conn, referral_id)
        if referral is None:
            abort(404, message="No such referral.")
        audit.read([(referral.person_id, referral.id)])
        return views.referral(referral, current_principal())


@blueprint.route("/<uuid:referral_id>/transitions")
class Transitions(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.TransitionOut(many=True))
    def get(self, referral_id: uuid.UUID) -> list[Any]:
        """Every change of the referral's status: who, when, why."""
        with read_transaction(service().engine) as conn:
            referral = store.get_referral(conn, referral_id)
            if referral is None:
                abort(404, message="No such referral.")
            history = store.transitions_of(conn, [referral_id])
        audit.read([(referral.person_id, referral.id)])
        return history


def _transition_view(action: Action, schema: type, summary: str, reason_field: str | None = None) -> None:
    def view(body: dict[str, Any], referral_id: uuid.UUID) -> dict[str, Any]:
        principal = current_principal()
        with service().unit_of_work() as uow:
            moved = commands.move(
                uow,
                referral_id,
                action,
                at=datetime.now(UTC),
                actor=principal.label or principal.role,
                reason=body.get(reason_field) if reason_field else None,
                note=body.get("note"),
                priority=body.get("priority"),
            )
            audit.changed(uow.connection, moved.person_id, moved.id)
            uow.commit()
        return views.referral(moved, principal)

    view.__name__ = f"{action.value}_referral"
    view.__doc__ = summary
    decorated = requires("coordinator")(view)
    decorated = blueprint.arguments(schema)(decorated)
    decorated = blueprint.response(200, schemas.ReferralOut)(decorated)
    decorated = blueprint.alt_response(409, description="Not allowed in the referral's status")(decorated)
    blueprint.route(f"/<uuid:referral_id>/{action.value}", methods=["POST"])(decorated)


_transition_view(Action.ACCEPT, schemas.AcceptIn, "Accept the referral: the person joins the waiting list.")
_transition_view(Action.DECLINE, schemas.DeclineIn, "Decline the referral, with the reason.", "reason")
_transition_view(Action.WITHDRAW, schemas.WithdrawIn, "Withdraw an open referral, with the reason.", "reason")
_transition_view(Action.START, schemas.StartIn, "Mentoring started: the matched referral becomes active.")
_transition_view(Action.CLOSE, schemas.CloseIn, "Close an active referral, with its outcome.", "outcome")
_transition_view(
    Action.REOPEN, schemas.ReopenIn, "Bring a closed referral back to the waiting list, without a new triage."
)


@blueprint.route("/<uuid:referral_id>/check-ins")
class CheckIns(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.CheckInsOut)
    def get(self, referral_id: uuid.UUID) -> dict[str, Any]:
        """The referral's wellbeing check-ins and when the next is due (every 12 weeks)."""
        scale = current_scale()
        with read_transaction(service().engine) as conn:
            referral = store.get_referral(conn, referral_id)
            if referral is None:
                abort(404, message="No such referral.")
            items = store.check_ins_of(conn, [referral_id])
        audit.read([(referral.person_id, referral.id)])
        baseline = next((c.score for c in items if c.timepoint == "baseline"), None)
        open_now = referral.status.value in ("accepted", "matched", "active")
        return {
            "items": [views.check_in(c, maximum=scale.max_score, baseline=baseline) for c in items],
            "next_due": outcomes.next_check_in_due(referral.accepted_at, items) if open_now else None,
        }

    @requires("coordinator")
    @blueprint.arguments(schemas.CheckInIn)
    @blueprint.response(201, schemas.CheckInOut)
    def post(self, body: dict[str, Any], referral_id: uuid.UUID) -> dict[str, Any]:
        """Record a check-in on the site's scale; `outcome.recorded` carries the change since baseline."""
        scale = current_scale()
        with service().unit_of_work() as uow:
            check_in, progress = commands.record_check_in(
                uow,
                referral_id,
                scale=scale,
                timepoint=body["timepoint"],
                answers=body["answers"],
                now=datetime.now(UTC),
            )
            audit.changed(uow.connection, check_in.person_id, check_in.referral_id)
            uow.commit()
        return views.check_in(check_in, maximum=scale.max_score, baseline=progress.baseline_score)


def current_scale() -> outcomes.Scale:
    return current_app.extensions["referrals.scale"]  # type: ignore[no-any-return]
