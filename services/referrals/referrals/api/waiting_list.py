"""``/waiting-list`` and ``/outcome-scale``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from peerlink.db import read_transaction
from peerlink.web import requires, service
from referrals import clock, store
from referrals.api import audit, schemas
from referrals.api.referrals import current_scale, current_zone
from referrals.domain.workflow import median_wait_days, waiting_list

blueprint = Blueprint("waiting-list", __name__, description="The waiting list and the wellbeing scale")


@blueprint.route("/waiting-list")
class WaitingList(MethodView):
    @requires("coordinator")
    @blueprint.response(200, schemas.WaitingListOut)
    def get(self) -> dict[str, Any]:
        """Who waits for a mentor: priority first, then longest waiting; and the median wait."""
        now, zone = clock.now(), current_zone()
        with read_transaction(service().engine) as conn:
            waiting = waiting_list(store.accepted_referrals(conn), now, zone)
            languages = store.languages_of(conn, [w.referral.person_id for w in waiting])
            waits = store.waits_to_match(conn, since=now - timedelta(days=365))
        audit.read((w.referral.person_id, w.referral.id) for w in waiting)
        return {
            "items": [
                {
                    "referral_id": w.referral.id,
                    "person_id": w.referral.person_id,
                    "priority": w.referral.priority,
                    "accepted_at": w.referral.accepted_at,
                    "days_waiting": w.days_waiting,
                    "support_needs": list(w.referral.support_needs),
                    "preferred_language": languages.get(w.referral.person_id),
                }
                for w in waiting
            ],
            "waiting": len(waiting),
            "priority": sum(1 for w in waiting if w.referral.priority),
            "median_wait_days": median_wait_days(waits, zone),
            "matches_counted": len(waits),
        }


@blueprint.route("/outcome-scale")
class OutcomeScale(MethodView):
    @requires("coordinator", "mentor")
    @blueprint.response(200, schemas.ScaleOut)
    def get(self) -> dict[str, Any]:
        """The wellbeing scale this site uses for check-ins, in Welsh and English."""
        return asdict(current_scale())
