"""``/people/{id}``: a person's timeline, their erasure, their peer advocacy issues."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from peerlink.audit import AuditQuery, Subject
from peerlink.db import read_transaction
from peerlink.web import current_principal, requires, service
from referrals import clock, commands, store
from referrals.api import audit, schemas, views
from referrals.api.referrals import current_zone
from referrals.domain.erasure import AlreadyErased

blueprint = Blueprint("people", __name__, url_prefix="/people", description="People, advocacy and erasure")


@blueprint.route("/<uuid:person_id>")
class PersonById(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.PersonTimeline)
    def get(self, person_id: uuid.UUID) -> dict[str, Any]:
        """The person and their timeline: referrals, every status change, advocacy, check-ins."""
        with read_transaction(service().engine) as conn:
            person = store.get_person(conn, person_id)
            if person is None:
                abort(404, message="No such person.")
            referrals = store.referrals_of(conn, person_id)
            ids = [r.id for r in referrals]
            transitions = store.transitions_of(conn, ids)
            issues = store.issues_of(conn, person_id)
            check_ins = store.check_ins_of(conn, ids)
            checks = store.possible_duplicates_about(conn, person_id)
        audit.read([(person_id, None)])
        principal = current_principal()
        timeline: list[dict[str, Any]] = [
            {"at": r.received_at, "kind": "referral", "referral_id": r.id, "detail": {"source": r.source}}
            for r in referrals
        ]
        timeline += [
            {
                "at": t.at,
                "kind": "transition",
                "referral_id": t.referral_id,
                "detail": {"action": t.action.value, "to": t.to_status.value, "reason": t.reason, "actor": t.actor},
            }
            for t in transitions
        ]
        for issue in issues:
            timeline.append(
                {
                    "at": issue.opened_at,
                    "kind": "advocacy-opened",
                    "referral_id": None,
                    "detail": {"issue_id": str(issue.id), "category": issue.category},
                }
            )
            if issue.resolved_at:
                timeline.append(
                    {
                        "at": issue.resolved_at,
                        "kind": "advocacy-resolved",
                        "referral_id": None,
                        "detail": {"issue_id": str(issue.id), "resolution": issue.resolution},
                    }
                )
        timeline += [
            {
                "at": c.recorded_at,
                "kind": "check-in",
                "referral_id": c.referral_id,
                "detail": {"timepoint": c.timepoint, "score": c.score},
            }
            for c in check_ins
        ]
        for check in checks:
            # On the timelines of both: the person a referral was linked to, and the different
            # person it turned out to be (ids and the answer; never the details given with it).
            timeline.append(
                {
                    "at": check.flagged_at,
                    "kind": "possible-duplicate",
                    "referral_id": check.referral_id,
                    "detail": {"linked_to": str(check.person_id), "matched_on": list(check.matched_on)},
                }
            )
            if check.resolved_at:
                timeline.append(
                    {
                        "at": check.resolved_at,
                        "kind": "duplicate-resolved",
                        "referral_id": check.referral_id,
                        "detail": {
                            "resolution": check.resolution,
                            "resolved_by": check.resolved_by,
                            "contact_details_applied": check.contact_details_applied,
                            "new_person_id": str(check.new_person_id) if check.new_person_id else None,
                        },
                    }
                )
        timeline.sort(key=lambda entry: entry["at"])
        return {
            "person": views.person(person),
            "referrals": [views.referral(r, principal) for r in referrals],
            "timeline": timeline,
        }

    @requires("coordinator")
    @blueprint.response(204)
    def delete(self, person_id: uuid.UUID) -> None:
        """Erase the person's personal data (the right to erasure).

        Counts stay; `person.erased` tells the other services to erase theirs. Open referrals
        are withdrawn first. Erasing twice is harmless.
        """
        principal = current_principal()
        try:
            with service().unit_of_work() as uow:
                commands.erase_person(
                    uow, person_id, now=clock.now(), actor=principal.label or principal.role, zone=current_zone()
                )
                audit.changed(uow.connection, person_id, action=audit.ERASE)
                uow.commit()
        except AlreadyErased:
            return None


@blueprint.route("/<uuid:person_id>/advocacy-issues")
class AdvocacyIssues(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.AdvocacyOut(many=True))
    def get(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """The person's advocacy issues, open and resolved."""
        with read_transaction(service().engine) as conn:
            if store.get_person(conn, person_id) is None:
                abort(404, message="No such person.")
            issues = [views.issue(i) for i in store.issues_of(conn, person_id)]
        audit.read([(person_id, None)])
        return issues

    @requires("coordinator")
    @blueprint.arguments(schemas.AdvocacyIn)
    @blueprint.response(201, schemas.AdvocacyOut)
    @blueprint.alt_response(409, description="Three issues are already open (they are named)")
    def post(self, body: dict[str, Any], person_id: uuid.UUID) -> dict[str, Any]:
        """Open an advocacy issue: at most three open at a time."""
        with service().unit_of_work() as uow:
            issue = commands.open_advocacy_issue(
                uow, person_id, category=body["category"], summary=body["summary"], now=clock.now(), zone=current_zone()
            )
            audit.changed(uow.connection, person_id)
            uow.commit()
        return views.issue(issue)


@blueprint.route("/<uuid:person_id>/advocacy-issues/<uuid:issue_id>/resolve")
class ResolveIssue(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.ResolveIn)
    @blueprint.response(200, schemas.AdvocacyOut)
    def post(self, body: dict[str, Any], person_id: uuid.UUID, issue_id: uuid.UUID) -> dict[str, Any]:
        """Close an advocacy issue, with how it ended."""
        with service().unit_of_work() as uow:
            issue = commands.resolve_advocacy_issue(
                uow, person_id, issue_id, resolution=body["resolution"], now=clock.now(), zone=current_zone()
            )
            audit.changed(uow.connection, person_id)
            uow.commit()
        return views.issue(issue)


@blueprint.route("/<uuid:person_id>/audit")
class AuditLog(MethodView):
    @requires("coordinator")
    @blueprint.arguments(AuditQuery, location="query")
    @blueprint.response(200, schemas.PersonAuditPage)
    def get(self, query: dict[str, Any], person_id: uuid.UUID) -> dict[str, Any]:
        """Who read or changed this person's record, newest first (kept after an erasure; reading
        it is recorded too)."""
        with read_transaction(service().engine) as conn:
            exists = store.get_person(conn, person_id) is not None
        page = audit.TRAIL.page(
            service().engine, Subject(audit.PERSON, person_id), query, exists=exists, missing="No such person."
        )
        page["items"] = [{**item, "referral_id": item["related_id"]} for item in page["items"]]
        return page
