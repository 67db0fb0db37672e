"""Words the templates share, in Welsh and English: dates and times, what a message was (site names,
days and months come from ``peerlink.bilingual``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from peerlink.bilingual import date_words

AT = {"cy": "am", "en": "at"}

# What a message was, for the mentor asked to phone and the coordinator's digest.
KIND_LABELS = {
    "referral-acknowledged": {"cy": "cadarnhad ein bod wedi derbyn atgyfeiriad", "en": "the referral acknowledgement"},
    "referral-accepted": {
        "cy": "y newyddion bod atgyfeiriad wedi'i dderbyn",
        "en": "news that a referral was accepted",
    },
    "referral-declined": {"cy": "y newyddion am atgyfeiriad", "en": "news about a referral"},
    "match-confirmed-mentee": {"cy": "manylion eu mentor newydd", "en": "the details of their new mentor"},
    "match-confirmed-mentor": {"cy": "manylion mentorai newydd", "en": "the details of a new mentee"},
    "match-ended": {"cy": "y newyddion bod y mentora wedi dod i ben", "en": "news that the mentoring has ended"},
    "registration-confirmed": {"cy": "cadarnhad o le mewn digwyddiad", "en": "a confirmed place at an event"},
    "registration-waitlisted": {"cy": "lle ar restr aros digwyddiad", "en": "a place on an event's waiting list"},
    "registration-promoted": {"cy": "lle newydd mewn digwyddiad", "en": "a place that came free at an event"},
    "event-reminder": {"cy": "nodyn i atgoffa am ddigwyddiad", "en": "an event reminder"},
    "event-changed": {"cy": "newid i ddigwyddiad", "en": "a change to an event"},
    "event-cancelled": {"cy": "canslo digwyddiad", "en": "an event being cancelled"},
    "digest": {"cy": "crynodeb dyddiol", "en": "a daily digest"},
    "please-phone": {"cy": "cais i ffonio", "en": "a request to phone"},
    "referral-received-coordinator": {"cy": "atgyfeiriad newydd", "en": "a new referral"},
}


def when(moment: datetime, language: str, zone: ZoneInfo) -> str:
    """``dydd Mawrth 1 Rhagfyr am 10:00`` / ``Tuesday 1 December at 10:00``, in the site's time."""
    local = moment.astimezone(zone)
    return f"{date_words(local, language)} {AT[language]} {local:%H:%M}"


def clock_time(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def kind_label(kind: str, language: str) -> str:
    return KIND_LABELS.get(kind, {}).get(language, kind)
