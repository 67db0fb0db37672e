"""The public pages (no token): upcoming public events in Welsh or English, and their feeds.

Only what organisers wrote for the public is shown: titles, descriptions, venues, the group's
name and accessibility, and whether places are left. Never a registration, a facilitator or
a count of who is coming; participants-only events are not listed at all.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import jinja2
from flask import Blueprint, Response, abort, request, url_for

from events import calendar, store
from events.api.common import now
from events.domain.schedule import ArtEvent, Group
from events.domain.timing import local
from events.pages import wording
from peerlink.bilingual import site_name
from peerlink.db import read_transaction
from peerlink.web import problem, public, service
from peerlink.web.forms import html_page, new_nonce

blueprint = Blueprint("public_events", __name__)

LISTED = 200  # the next this many public events

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("events", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def chosen_language() -> str:
    """``?lang=`` first, then the browser's preference, then English. An unknown ``?lang=``
    falls back the same way: the page is read by a person at a browser, who is better served
    by a page in a language they may read than by an error (the feeds, read by calendar apps
    and scripts, refuse it: :func:`_feed_language`)."""
    asked = request.args.get("lang")
    if asked in wording.LANGUAGES:
        return asked
    return request.accept_languages.best_match(wording.LANGUAGES, default="en") or "en"


@blueprint.get("/public/events")
@public
def listing() -> Response:
    language = chosen_language()
    moment = now()
    with read_transaction(service().engine) as conn:
        items = store.schedule.events_ending_after(conn, moment, public_only=True, limit=LISTED)
        groups = {g.id: g for g in store.schedule.list_groups(conn)}
    days: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        starts = local(item.starts_at, item.zone)
        days.setdefault(wording.day(starts, language), []).append(_card(item, groups.get(item.group_id), language))
    nonce = new_nonce()
    other = "en" if language == "cy" else "cy"
    html = _templates.get_template("listing.html.j2").render(
        lang=language,
        other=other,
        other_href=f"{url_for('public_events.listing')}?{urlencode({'lang': other})}",
        feed_href=f"{url_for('public_events.site_feed')}?{urlencode({'lang': language})}",
        t=wording.TEXT[language],
        site=site_name(service().settings.site)[language],
        days=list(days.items()),
        nonce=nonce,
    )
    response = html_page(html, nonce=nonce)
    response.headers["Content-Language"] = language
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Accept-Language")
    return response


def _card(item: ArtEvent, group: Group | None, language: str) -> dict[str, Any]:
    details = item.details
    text = wording.TEXT[language]
    starts, ends = local(item.starts_at, item.zone), local(item.ends_at, item.zone)
    if item.is_cancelled:
        status = text["cancelled"]
    elif details.drop_in:
        status = text["drop_in"]
    elif item.places_left is None:
        status = text["open"]
    elif item.places_left > 0:
        status = wording.places(item.places_left, language)
    else:
        status = text["full"]
    return {
        "id": item.id,
        "title": details.title_cy if language == "cy" else details.title_en,
        "kind": wording.KIND_LABELS[details.kind][language],
        "description": details.description_cy if language == "cy" else details.description_en,
        "time": wording.time_range(starts, ends, language),
        "starts_iso": starts.isoformat(),
        "venue": details.venue,
        "group": (group.name_cy if language == "cy" else group.name_en) if group else None,
        "access": (group.accessibility_cy if language == "cy" else group.accessibility_en) if group else None,
        "cancelled": item.is_cancelled,
        "status": status,
    }


@blueprint.get("/public/calendar.ics")
@public
def site_feed() -> Response:
    """The site's public events as an iCalendar feed, for anyone's calendar app."""
    language = _feed_language()
    moment = now()
    with read_transaction(service().engine) as conn:
        items = store.schedule.events_ending_after(conn, moment - calendar.PAST, public_only=True)
    names = site_name(service().settings.site)
    return calendar.response(
        items, name=calendar.both(names["cy"], names["en"], language), language=language, now=moment
    )


@blueprint.get("/public/groups/<uuid:group_id>/calendar.ics")
@public
def group_feed(group_id: uuid.UUID) -> Response:
    language = _feed_language()
    moment = now()
    with read_transaction(service().engine) as conn:
        group = store.schedule.get_group(conn, group_id)
        if group is None:
            abort(404)
        items = store.schedule.events_ending_after(conn, moment - calendar.PAST, group_id=group_id, public_only=True)
    return calendar.response(items, name=calendar.group_name(group, language), language=language, now=moment)


def _feed_language() -> str | None:
    """``?lang=cy|en``, or None for both. Anything else is refused (422) as the token feeds
    refuse it, rather than answered in both languages as if it had been understood."""
    asked = request.args.get("lang")
    if asked is None or asked in wording.LANGUAGES:
        return asked
    detail = f"Must be one of: {', '.join(wording.LANGUAGES)}."
    abort(problem(422, "The query has an unknown language.", errors=[{"parameter": "lang", "detail": detail}]))
