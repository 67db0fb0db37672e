"""iCalendar (RFC 5545) feeds of events, for a group or the whole site, by ``icalendar``.

Each event is its own VEVENT whose UID is the event id, a weekly session's occurrences too:
a moved occurrence is that VEVENT with new times and a higher SEQUENCE, a cancelled one stays
in the feed with ``STATUS:CANCELLED`` so calendar apps take it away. Times carry the event's
TZID with a VTIMEZONE, so a session at 10:00 shows at 10:00 whatever the season. Titles are in
one language when asked (``?lang=cy``), else in both, Welsh first.

Names, titles and venues are written as one line and descriptions keep their line breaks
(:mod:`events.domain.text`) whatever was stored before the API refused breaks in a name; every
value is TEXT, so icalendar escapes the ``\\n`` of a description and a name's ``;`` and ``,``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from flask import Response
from icalendar import Calendar, Event, vText

from events.domain.schedule import ArtEvent, Group
from events.domain.text import as_one_line, as_paragraphs
from events.domain.timing import DEFAULT_ZONE, local
from events.pages.wording import KIND_LABELS

PAST = timedelta(days=31)  # a feed shows the last month too: an event is not gone the moment it ends
REFRESH = timedelta(hours=6)
PRODID = "-//Peerlink//Events//CY-EN"


def both(welsh: str | None, english: str | None, language: str | None, separator: str = " / ") -> str:
    if language == "cy":
        return welsh or english or ""
    if language == "en":
        return english or welsh or ""
    if welsh and english and welsh != english:
        return f"{welsh}{separator}{english}"
    return welsh or english or ""


def group_name(group: Group, language: str | None) -> str:
    return both(group.name_cy, group.name_en, language)


def feed(events: Sequence[ArtEvent], *, name: str, language: str | None, now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", vText(as_one_line(name)))  # an X- property: icalendar would not escape a str
    calendar.add("x-wr-timezone", DEFAULT_ZONE)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for item in events:
        calendar.add_component(_vevent(item, language, now))
    if events:
        calendar.add_missing_timezones(
            first_date=min(e.starts_at for e in events).date() - timedelta(days=1),
            last_date=max(e.ends_at for e in events).date() + timedelta(days=366),
        )
    else:
        calendar.add_missing_timezones(first_date=now.date(), last_date=date(now.year + 2, 1, 1))
    return calendar.to_ical()  # type: ignore[no-any-return]


def _vevent(item: ArtEvent, language: str | None, now: datetime) -> Event:
    details = item.details
    vevent = Event()
    vevent.add("uid", f"{item.id}@peerlink")
    vevent.add("dtstamp", now)
    vevent.add("created", item.created_at)
    vevent.add("last-modified", item.updated_at)
    vevent.add("sequence", item.revision)
    vevent.add("dtstart", local(item.starts_at, item.zone))
    vevent.add("dtend", local(item.ends_at, item.zone))
    vevent.add("summary", as_one_line(both(details.title_cy, details.title_en, language)))
    description = both(details.description_cy, details.description_en, language, separator="\n\n")
    if description:
        vevent.add("description", as_paragraphs(description))
    vevent.add("location", as_one_line(details.venue))
    labels = KIND_LABELS[details.kind]
    vevent.add("categories", [labels["cy"], labels["en"]] if language is None else [labels[language]])
    vevent.add("class", "PUBLIC" if details.public else "PRIVATE")
    vevent.add("status", "CANCELLED" if item.is_cancelled else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    return vevent


def response(events: Sequence[ArtEvent], *, name: str, language: str | None, now: datetime) -> Response:
    body = feed(events, name=name, language=language, now=now)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="calendar.ics"', "Cache-Control": "private, max-age=300"},
    )
