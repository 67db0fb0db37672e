"""HTTP -> domain -> store + outbox. Thin on purpose: the rules live in ``domain``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED
from peerlink.db import read_transaction
from peerlink.web import requires, service
from referrals import domain, store
from referrals.schemas import ReferralIn, ReferralOut, ReferralPage, ReferralQuery

blueprint = Blueprint("referrals", __name__, url_prefix="/referrals", description="Referrals into the network")


@blueprint.route("")
class Referrals(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(ReferralIn)
    @blueprint.response(201, ReferralOut)
    def post(self, body: dict[str, Any]) -> domain.Referral:
        """Take a referral in.

        Stores the person and the referral, and writes `referral.received` (pseudonymous,
        to `peerlink.events`) and `contact.recorded` (to `peerlink.private`) in the same
        transaction.
        """
        context = service()
        if body["site"] != context.settings.site:
            abort(
                422,
                errors=[{"pointer": "/site", "detail": f"Unknown site; this instance is {context.settings.site!r}."}],
            )
        person_in = body["person"]
        contact_in = person_in["contact"]
        new = domain.NewReferral(
            given_name=person_in["given_name"],
            family_name=person_in["family_name"],
            date_of_birth=person_in["date_of_birth"],
            preferred_language=person_in["preferred_language"],
            contact=domain.ContactDetails(
                email=contact_in.get("email"),
                phone=contact_in.get("phone"),
                channels=tuple(dict.fromkeys(contact_in["channels"])),
                safe_to_text=contact_in.get("safe_to_text", False),
            ),
            source=body["source"],
            support_needs=tuple(body["support_needs"]),
            interests=tuple(body.get("interests", ())),
            consent_to_share=body["consent"]["share_with_mentor"],
            counted_in_figures=body["consent"]["counted_in_figures"],
            consent_wording_version=body["consent"]["wording_version"],
        )
        now = datetime.now(UTC)
        try:
            person, referral = domain.take_referral(new, site=context.settings.site, now=now)
        except domain.IneligibleReferral as exc:
            abort(422, message=str(exc), errors=[{"pointer": "/" + exc.field.replace(".", "/"), "detail": str(exc)}])
        with context.unit_of_work() as uow:
            store.add_person(uow.connection, person, created_at=now)
            store.add_referral(uow.connection, referral)
            uow.emit(REFERRAL_RECEIVED, subject=str(referral.id), data=domain.received_event(person, referral))
            uow.emit(CONTACT_RECORDED, subject=str(person.id), data=domain.contact_event(person))
            uow.commit()
        return referral

    @requires("coordinator", "service")
    @blueprint.arguments(ReferralQuery, location="query")
    @blueprint.response(200, ReferralPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List referrals, newest first."""
        with read_transaction(service().engine) as conn:
            items, total = store.list_referrals(
                conn, status=query.get("status"), limit=query["limit"], offset=query["offset"]
            )
        return {"items": items, "total": total}


@blueprint.route("/<uuid:referral_id>")
class ReferralById(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, ReferralOut)
    def get(self, referral_id: uuid.UUID) -> domain.Referral:
        """One referral."""
        with read_transaction(service().engine) as conn:
            referral = store.get_referral(conn, referral_id)
        if referral is None:
            abort(404, message="No such referral.")
        return referral
