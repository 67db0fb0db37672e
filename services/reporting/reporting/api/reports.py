"""``/reports/...``: the central office's figures, per site and for the network, JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from peerlink.db import read_transaction
from peerlink.web import requires, service
from reporting import store
from reporting.api import schemas
from reporting.domain.figures import SECTIONS, Period, Rows, figures
from reporting.domain.suppression import suppress

blueprint = Blueprint("reports", __name__, description="Figures for the central office")

READERS = ("central-reader",)


def period_of(query: dict[str, Any]) -> tuple[date, date, Period]:
    last: date = query.get("end") or datetime.now(UTC).date()
    first: date = query.get("start") or last - timedelta(days=365)
    if first > last:
        abort(422, errors=[{"parameter": "from", "detail": "Must not be after `to`."}])
    period = Period(datetime.combine(first, time(), UTC), datetime.combine(last + timedelta(days=1), time(), UTC))
    return first, last, period


def report(query: dict[str, Any], sections: list[str]) -> dict[str, Any]:
    first, last, period = period_of(query)
    with read_transaction(service().engine) as conn:
        sites = sorted(set(query.get("sites") or store.known_sites(conn)))
        where = {name: [store.model(name).c.site.in_(sites)] for name in store.MODELS}
        rows = Rows.of({name: store.rows(conn, name, *where[name]) for name in Rows.__dataclass_fields__})
    found = figures(rows, period, sites, sections)
    if query["small_numbers"] == "suppress":
        found = suppress(found)
    return {"period_from": first, "period_to": last, "small_numbers": query["small_numbers"], **found}


def as_csv(body: dict[str, Any]) -> Response:
    """One figure a line: ``from,to,site,section,figure,breakdown,value`` (the network as a site)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["from", "to", "site", "section", "figure", "breakdown", "value"])
    start, end = body["period_from"].isoformat(), body["period_to"].isoformat()
    places = [*body["sites"].items(), ("network", body["network"])]
    for site, sections in places:
        for section_name, values in sections.items():
            for figure_name, value in values.items():
                if isinstance(value, dict):
                    for breakdown, item in value.items():
                        writer.writerow([start, end, site, section_name, figure_name, breakdown, _cell(item)])
                else:
                    writer.writerow([start, end, site, section_name, figure_name, "", _cell(value)])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="peerlink-{start}-{end}.csv"'
    return response


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


@blueprint.route("/reports")
class AllReports(MethodView):
    @requires(*READERS)
    @blueprint.arguments(schemas.ReportQuery, location="query")
    @blueprint.response(200, schemas.ReportOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every figure, per site and for the network."""
        return report(query, list(SECTIONS))


@blueprint.route("/reports.csv")
class AllReportsCsv(MethodView):
    @requires(*READERS)
    @blueprint.arguments(schemas.ReportQuery, location="query")
    @blueprint.response(200, {"type": "string"}, content_type="text/csv")
    def get(self, query: dict[str, Any]) -> Response:
        """Every figure as CSV, one figure a line."""
        return as_csv(report(query, list(SECTIONS)))


@blueprint.route("/reports/log")
class Log(MethodView):
    @requires(*READERS)
    @blueprint.response(200, schemas.LogOut)
    def get(self) -> dict[str, Any]:
        """How many events of each type the central office holds from each site."""
        with read_transaction(service().engine) as conn:
            counts = store.log_counts(conn)
        return {"sites": counts, "total": sum(sum(types.values()) for types in counts.values())}


def _section_routes(name: str, summary: str) -> None:
    def json_view(query: dict[str, Any]) -> dict[str, Any]:
        return report(query, [name])

    def csv_view(query: dict[str, Any]) -> Response:
        return as_csv(report(query, [name]))

    for view, path, suffix in ((json_view, f"/reports/{name}", ""), (csv_view, f"/reports/{name}.csv", " (CSV)")):
        view.__name__ = f"{name.replace('-', '_')}{'_csv' if suffix else ''}"
        view.__doc__ = summary + suffix
        decorated = requires(*READERS)(view)
        decorated = blueprint.arguments(schemas.ReportQuery, location="query")(decorated)
        if suffix:
            decorated = blueprint.response(200, {"type": "string"}, content_type="text/csv")(decorated)
        else:
            decorated = blueprint.response(200, schemas.ReportOut)(decorated)
        blueprint.route(path, methods=["GET"])(decorated)


for _name, _summary in {
    "referrals": "Referrals received, by source, need and age band; accepted, declined, started, closed.",
    "waiting": "Days from acceptance to a match (median, 90th percentile), and who is still waiting.",
    "matches": "Matches proposed, confirmed, declined, ended (by reason) and active at the end.",
    "mentors": "Active mentors, by kind; caseloads and their spread; the receiver as a giver.",
    "sessions": "Sessions and events held, by kind; attendance, no-shows and drop-in headcounts.",
    "money": "Money raised, by kind (auction, cards, other); the scheme's and the artists' shares.",
    "outcomes": "Wellbeing check-ins and the change since the baseline.",
    "advocacy": "Peer advocacy issues opened (by category) and resolved.",
    "notifications": "Messages sent and failed, by channel and reason.",
}.items():
    _section_routes(_name, _summary)
