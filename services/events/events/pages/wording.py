"""Every word the public pages and feeds show, in Welsh and English (Welsh first)."""

from __future__ import annotations

from datetime import datetime

from peerlink.bilingual import LANGUAGES as LANGUAGES  # the pages ask the wording which languages it speaks
from peerlink.bilingual import date_words

KIND_LABELS = {
    "group-session": {"cy": "Sesiwn grŵp", "en": "Group session"},
    "exhibition": {"cy": "Arddangosfa", "en": "Exhibition"},
    "auction": {"cy": "Ocsiwn", "en": "Auction"},
    "card-sale": {"cy": "Gwerthu cardiau", "en": "Card sale"},
    "live-painting": {"cy": "Peintio byw", "en": "Live painting"},
    "community-event": {"cy": "Digwyddiad cymunedol", "en": "Community event"},
}

TEXT = {
    "cy": {
        "title": "Digwyddiadau i ddod",
        "intro": "Arddangosfeydd, ocsiynau, gwerthu cardiau a digwyddiadau cymunedol ein grwpiau celf. Croeso i bawb.",
        "none": "Does dim digwyddiadau cyhoeddus i ddod ar hyn o bryd.",
        "when": "Pryd",
        "where": "Ble",
        "group": "Grŵp",
        "access": "Hygyrchedd",
        "places_left": "{n} lle ar ôl",
        "places_left_many": "{n} o leoedd ar ôl",
        "full": "Llawn: mae rhestr aros",
        "drop_in": "Galw heibio: does dim angen cofrestru",
        "open": "Croeso i bawb",
        "cancelled": "Wedi'i ganslo",
        "subscribe": "Ychwanegu'r digwyddiadau hyn at eich calendr",
        "other_language": "English",
        "welsh_welcome": "Mae croeso i chi gysylltu â ni yn Gymraeg.",
        "times_note": "Amseroedd yn ôl amser y DU.",
    },
    "en": {
        "title": "Upcoming events",
        "intro": "Exhibitions, auctions, card sales and community events of our art groups. Everyone is welcome.",
        "none": "There are no public events coming up at the moment.",
        "when": "When",
        "where": "Where",
        "group": "Group",
        "access": "Access",
        "places_left": "{n} place left",
        "places_left_many": "{n} places left",
        "full": "Full: there is a waiting list",
        "drop_in": "Drop in: no need to register",
        "open": "Everyone welcome",
        "cancelled": "Cancelled",
        "subscribe": "Add these events to your calendar",
        "other_language": "Cymraeg",
        "welsh_welcome": "You are welcome to contact us in Welsh.",
        "times_note": "Times are UK time.",
    },
}


def day(moment: datetime, language: str) -> str:
    """``Dydd Mawrth 2 Tachwedd 2027`` / ``Tuesday 2 November 2027``."""
    return date_words(moment, language, year=True, capital=True)


EN_DASH = "\u2013"


def time_range(start: datetime, end: datetime, language: str) -> str:
    if start.date() == end.date():
        return f"{start:%H:%M}{EN_DASH}{end:%H:%M}"
    return f"{start:%H:%M} {EN_DASH} {day(end, language)} {end:%H:%M}"


def places(left: int, language: str) -> str:
    return TEXT[language]["places_left" if left == 1 else "places_left_many"].format(n=left)
