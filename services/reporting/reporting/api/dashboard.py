"""``/dashboard``: the central office's figures for people, in a browser.

Signing in takes a central-reader token once (a form, CSRF-protected) and keeps it in an
HttpOnly, SameSite=Strict cookie for the dashboard's own path; the page is rendered on the
server (tables and inline SVG charts), with no script, under a strict Content-Security-Policy.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import jinja2
from flask import Blueprint, Response, current_app, redirect, request

from peerlink.bilingual import site_name
from peerlink.web import public, requires
from peerlink.web.auth import SESSION_COOKIE, TokenAuthenticator, browser_session
from peerlink.web.forms import CSRF_FIELD, CsrfRefused, accepts_forms, check_csrf, csrf_token, html_page, new_nonce
from peerlink.web.ratelimit import rate_limited
from reporting.api import schemas
from reporting.api.charts import bar_chart
from reporting.api.reports import report

blueprint = Blueprint("dashboard", __name__)

LOGIN = "/dashboard/login"
SESSION_HOURS = 8
SIGN_IN_LIMIT = "20 per 10 minutes"

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("reporting", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@blueprint.get("/dashboard")
@requires("central-reader")
@browser_session(login=LOGIN)
def dashboard() -> Response:
    asked: dict[str, Any] = {k: v for k, v in request.args.items() if v and k != "site"}
    if [s for s in request.args.getlist("site") if s]:
        asked["site"] = [s for s in request.args.getlist("site") if s]
    # A bad filter shows the default figures and says which filter was ignored.
    errors = schemas.ReportQuery().validate(asked)
    query = schemas.ReportQuery().load({} if errors else asked)
    body = report(query, ["referrals", "waiting", "matches", "mentors", "sessions", "money", "outcomes"])
    sites = list(body["sites"])
    return _render(
        "dashboard.html.j2",
        body=body,
        sites=sites,
        names={site: site_name(site)["en"] for site in sites},
        charts=_charts(body, sites),
        chosen_site=(query.get("sites") or [""])[0],
        problems=sorted(errors),
        csv_href="/reports.csv?" + urlencode(request.args, doseq=True),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(),
    )


@blueprint.get(LOGIN)
@public
def login_form() -> Response:
    return _render("login.html.j2", error=None, next_path=_next_path(), csrf_field=CSRF_FIELD, csrf_token=csrf_token())


@blueprint.post(LOGIN)
@public
@accepts_forms
# A token cannot be guessed, but nobody needs more tries than this to paste theirs.
@rate_limited(SIGN_IN_LIMIT)
def login() -> Response:
    try:
        check_csrf()
    except CsrfRefused:
        return _render(
            "login.html.j2",
            status=403,
            error="The form expired: please try again.",
            next_path="/dashboard",
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token(),
        )
    token = request.form.get("token", "").strip()
    authenticator: TokenAuthenticator = current_app.extensions["peerlink.auth"]
    entry = authenticator.identify(token) if token else None
    if entry is None or entry.site != authenticator.site or entry.role != "central-reader":
        return _render(
            "login.html.j2",
            status=401,
            error="That is not a central office reader's token.",
            next_path=_next_path(),
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token(),
        )
    response = redirect(_next_path(), code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
        path="/dashboard",
    )
    return response  # type: ignore[return-value]


@blueprint.post("/dashboard/logout")
@public
@accepts_forms
def logout() -> Response:
    try:
        # Another site must not be able to sign a reader out either.
        check_csrf()
    except CsrfRefused:
        return _render(
            "login.html.j2",
            status=403,
            error="The form expired: please try again.",
            next_path="/dashboard",
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token(),
        )
    response = redirect(LOGIN, code=303)
    response.delete_cookie(SESSION_COOKIE, path="/dashboard")
    return response  # type: ignore[return-value]


def _next_path() -> str:
    """Where to go after signing in: a path of the dashboard only (never another site)."""
    wanted = request.values.get("next", "/dashboard")
    return wanted if wanted.startswith("/dashboard") and "//" not in wanted and "\\" not in wanted else "/dashboard"


def _charts(body: dict[str, Any], sites: list[str]) -> list[Any]:
    network = body["network"]
    per_site = body["sites"]
    name = {site: site_name(site)["en"] for site in sites}
    return [
        bar_chart(
            "referrals-by-site", "Referrals received", [(name[s], per_site[s]["referrals"]["received"]) for s in sites]
        ),
        bar_chart(
            "referrals-by-source",
            "Referrals by source (network)",
            sorted(network["referrals"]["by_source"].items(), key=lambda item: str(item[0])),
        ),
        bar_chart(
            "wait-by-site",
            "Median days waiting for a mentor",
            [(name[s], per_site[s]["waiting"]["median_days_waiting"]) for s in sites],
        ),
        bar_chart(
            "active-matches", "Active matches", [(name[s], per_site[s]["matches"]["active_at_end"]) for s in sites]
        ),
        bar_chart(
            "sessions-held", "Sessions and events held", [(name[s], per_site[s]["sessions"]["held"]) for s in sites]
        ),
        bar_chart(
            "money-by-kind",
            "Money raised (network)",
            list(network["money"]["raised_by_kind_pence"].items()),
            money=True,
        ),
    ]


def _render(template: str, *, status: int = 200, **values: Any) -> Response:
    nonce = new_nonce()
    html = _templates.get_template(template).render(nonce=nonce, today=date.today(), **values)
    return html_page(html, status, nonce=nonce)
