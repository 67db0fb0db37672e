"""``/referrals``: intake, the list, one referral, its transitions and its check-ins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from peerlink.db import read_transaction
from peerlink.web import current_principal, idempotency, requires, service
from peerlink.web.idempotency import REPLAYED, idempotency_key
from referrals import clock, commands, store
from referrals.api import audit, schemas, views
from referrals.domain import intake, outcomes
from referrals.domain.duplicates import Resolution
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
    now = clock.now()
    try:
        return _take_once(new, idempotency, now)
    except sa.exc.IntegrityError:
        if idempotency is None:
            raise
    # The same Idempotency-Key in a request that raced this one and committed first: theirs is
    # the referral, found and returned by a second try. That try commits like the first, so a
    # 201 always stands for a referral saved, never for one rolled back; a second clash is a 409.
    try:
        return _take_once(new, idempotency, now)
    except sa.exc.IntegrityError:
        raise commands.IntakeRaced(
            "Another request with this Idempotency-Key is being taken in; send it again to get its referral."
        ) from None


def _take_once(new: intake.NewReferral, idempotency: tuple[str, str] | None, now: datetime) -> commands.Taken:
    context = service()
    with context.unit_of_work() as uow:
        taken = commands.take_referral(
            uow, new, site=context.settings.site, now=now, zone=current_zone(), idempotency=idempotency
        )
        if not taken.replayed:
            audit.changed(uow.connection, taken.person.id, taken.referral.id)
        uow.commit()
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

        Stores the person and the referral; writes `referral.received` (pseudonymous) and
        `contact.recorded` (site-local) in the same transaction. Someone already known by name
        and date of birth, email or phone is linked to, not created twice, and never changed:
        the referral is flagged (`duplicate_pending`), keeps the details given with it for a
        coordinator (`/duplicate-check`), and no `contact.recorded` is written until one says
        who it is.
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
        """List referrals: filter by status, source, need, date received, possible duplicates; sort; page."""
        now = clock.now()
        with read_transaction(service().engine) as conn:
            items, total = store.list_referrals(conn, store.ReferralFilter(**query), now=now, zone=current_zone())
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
                at=clock.now(),
                actor=principal.label or principal.role,
                reason=body.get(reason_field) if reason_field else None,
                note=body.get("note"),
                priority=body.get("priority"),
                zone=current_zone(),
            )
            audit.changed(uow.connection, moved.person_id, moved.id)
            uow.commit()
        return views.referral(moved, principal)

    view.__name__ = f"{action.value}_referral"
    view.__doc__ = summary
    decorated = requires("coordinator")(view)
    decorated = blueprint.arguments(schema)(decorated)
    decorated = blueprint.response(200, schemas.ReferralOut)(decorated)
    decorated = blueprint.alt_response(
        409, description="Not allowed in the referral's status (or before its possible duplicate is resolved)"
    )(decorated)
    blueprint.route(f"/<uuid:referral_id>/{action.value}", methods=["POST"])(decorated)


_transition_view(Action.ACCEPT, schemas.AcceptIn, "Accept the referral: the person joins the waiting list.")
_transition_view(Action.DECLINE, schemas.DeclineIn, "Decline the referral, with the reason.", "reason")
_transition_view(Action.WITHDRAW, schemas.WithdrawIn, "Withdraw an open referral, with the reason.", "reason")
_transition_view(Action.START, schemas.StartIn, "Mentoring started: the matched referral becomes active.")
_transition_view(Action.CLOSE, schemas.CloseIn, "Close an active referral, with its outcome.", "outcome")
_transition_view(
    Action.REOPEN, schemas.ReopenIn, "Bring a closed referral back to the waiting list, without a new triage."
)


@blueprint.route("/<uuid:referral_id>/duplicate-check")
class DuplicateCheck(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.DuplicateCheckOut)
    def get(self, referral_id: uuid.UUID) -> dict[str, Any]:
        """A referral linked to someone already known: who, what they share, the details given
        with it (until resolved) and, once given, the answer (who gave it, when)."""
        with read_transaction(service().engine) as conn:
            check = store.get_possible_duplicate(conn, referral_id)
        if check is None:
            abort(404, message="No such referral, or it was not linked to anyone as a possible duplicate.")
        audit.read([(check.person_id, referral_id)])
        return views.possible_duplicate(check)


@blueprint.route("/<uuid:referral_id>/duplicate-check/resolve")
class ResolveDuplicate(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.ResolveDuplicateIn)
    @blueprint.response(200, schemas.DuplicateCheckOut)
    @blueprint.alt_response(409, description="Resolved already")
    def post(self, body: dict[str, Any], referral_id: uuid.UUID) -> dict[str, Any]:
        """Say whether a referral linked to someone known is the same person.

        `same-person`: the referral stays theirs; with `apply_contact_details` the contact
        details given with it replace theirs (and `contact.recorded` is written), otherwise
        nothing about them changes. `different-person`: the referral gets a person of its own,
        with the details given with it, and their `contact.recorded`. Either answer is
        announced by `referral.person-resolved` (ids and codes), after any `contact.recorded`:
        the person's acknowledgement and their consent to be counted wait for it elsewhere.
        Until this is answered the referral cannot be accepted or declined.
        """
        principal = current_principal()
        with service().unit_of_work() as uow:
            moved, check = commands.resolve_possible_duplicate(
                uow,
                referral_id,
                Resolution(body["decision"]),
                apply_contact_details=body["apply_contact_details"],
                at=clock.now(),
                actor=principal.label or principal.role,
                zone=current_zone(),
            )
            audit.changed(uow.connection, check.person_id, referral_id)
            if check.new_person_id:
                audit.changed(uow.connection, check.new_person_id, referral_id)
            uow.commit()
        return {**views.possible_duplicate(check), "referral": views.referral(moved, principal)}


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
            "next_due": outcomes.next_check_in_due(referral.accepted_at, items, current_zone()) if open_now else None,
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
                now=clock.now(),
                zone=current_zone(),
            )
            audit.changed(uow.connection, check_in.person_id, check_in.referral_id)
            uow.commit()
        return views.check_in(check_in, maximum=scale.max_score, baseline=progress.baseline_score)


def current_scale() -> outcomes.Scale:
    return current_app.extensions["referrals.scale"]  # type: ignore[no-any-return]


def current_zone() -> ZoneInfo:
    """The site's time zone: its days are the days of referral, birthdays and reviews."""
    return current_app.extensions["referrals.zone"]  # type: ignore[no-any-return]
