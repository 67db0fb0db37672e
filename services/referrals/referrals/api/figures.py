"""``/referrals/figures``: how the site is doing for a cohort of referrals."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from peerlink.db import read_transaction
from peerlink.web import requires, service
from referrals import clock, store
from referrals.api import schemas
from referrals.api.referrals import current_zone
from referrals.domain import days
from referrals.domain.figures import site_figures

blueprint = Blueprint("figures", __name__, url_prefix="/referrals", description="The site's own figures")


@blueprint.route("/figures")
class Figures(MethodView):
    @requires("coordinator")
    @blueprint.arguments(schemas.FiguresQuery, location="query")
    @blueprint.response(200, schemas.FiguresOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The site's figures for a cohort of referrals.

        For the referrals received between two days (default: the last year): how quickly
        triage answers and how many are accepted, how long people wait for a mentor (overall
        and by who referred them), what is overdue, whose consent is to be asked again.
        """
        now, zone = clock.now(), current_zone()
        today = days.day_of(now, zone)
        last: date = query.get("received_to") or today
        first: date = query.get("received_from") or last - timedelta(days=365)
        if first > last:
            abort(422, errors=[{"parameter": "received_from", "detail": "Must not be after received_to."}])
        # The cohort is the referrals received on those days at the site, as the list filters them.
        since, until = days.covering(first, last, zone)
        with read_transaction(service().engine) as conn:
            cohort = store.referrals_received(conn, since, until)
            transitions = store.transitions_of(conn, [r.id for r in cohort])
        figures = site_figures(cohort, transitions, now=now, today=today)
        return {"received_from": first, "received_to": last, **asdict(figures)}
