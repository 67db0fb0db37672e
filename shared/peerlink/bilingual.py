"""Words every service writes in both languages: the sites' names, days and months, a date.

One home, so that a Welsh name or month is spelt the same on a page, in an email and on the
dashboard (Welsh Language Standards: never treat Welsh less favourably, nor less carefully).
"""

from __future__ import annotations

from datetime import datetime

LANGUAGES = ("cy", "en")

SITE_NAMES = {
    "ebbw-vale": {"cy": "Glynebwy", "en": "Ebbw Vale"},
    "merthyr": {"cy": "Merthyr Tudful", "en": "Merthyr Tydfil"},
    "pontypridd": {"cy": "Pontypridd", "en": "Pontypridd"},
    "forest-of-dean": {"cy": "Fforest y Ddena", "en": "Forest of Dean"},
    "central": {"cy": "Y swyddfa ganolog", "en": "Central office"},
}

# Weekdays as written mid-sentence ("ar ddydd Mawrth" keeps "dydd" lower case in Welsh).
DAYS = {
    "cy": ("dydd Llun", "dydd Mawrth", "dydd Mercher", "dydd Iau", "dydd Gwener", "dydd Sadwrn", "dydd Sul"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "cy": (
        "Ionawr",
        "Chwefror",
        "Mawrth",
        "Ebrill",
        "Mai",
        "Mehefin",
        "Gorffennaf",
        "Awst",
        "Medi",
        "Hydref",
        "Tachwedd",
        "Rhagfyr",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def site_name(slug: str) -> dict[str, str]:
    """A site's name in both languages; a site not listed here is named from its slug."""
    fallback = slug.replace("-", " ").title()
    return SITE_NAMES.get(slug, {"cy": fallback, "en": fallback})


def date_words(moment: datetime, language: str, *, year: bool = False, capital: bool = False) -> str:
    """``dydd Mawrth 1 Rhagfyr`` / ``Tuesday 1 December`` (with the year if asked, and a capital
    first letter to begin a sentence or a heading). ``moment`` is already in local time."""
    words = f"{DAYS[language][moment.weekday()]} {moment.day} {MONTHS[language][moment.month - 1]}"
    if year:
        words += f" {moment.year}"
    return words[0].upper() + words[1:] if capital else words
