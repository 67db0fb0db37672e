"""What to send, to whom, in which language: plain Python, no I/O.

The Welsh Language Standards decide the language: Welsh to who prefers Welsh, English to
who prefers English, and both, Welsh first, when the preference is not known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SITE_NAMES = {
    "ebbw-vale": {"cy": "Glynebwy", "en": "Ebbw Vale"},
    "merthyr": {"cy": "Merthyr Tudful", "en": "Merthyr Tydfil"},
    "pontypridd": {"cy": "Pontypridd", "en": "Pontypridd"},
    "forest-of-dean": {"cy": "Fforest y Ddena", "en": "Forest of Dean"},
}

BILINGUAL_SEPARATOR = "\n\n— — —\n\n"


@dataclass(frozen=True)
class Recipient:
    person_id: str
    given_name: str
    email: str | None
    phone: str | None
    preferred_language: str | None
    channels: tuple[str, ...]
    safe_to_text: bool


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str
    languages: tuple[str, ...]


class NoChannel(Exception):
    """The person has not agreed to (or cannot be reached on) the channel: nothing is sent."""


Render = Callable[[str, str, dict[str, object]], tuple[str, str]]


def languages_for(recipient: Recipient) -> tuple[str, ...]:
    if recipient.preferred_language in ("cy", "en"):
        return (recipient.preferred_language,)
    return ("cy", "en")


def site_name(site: str) -> dict[str, str]:
    fallback = site.replace("-", " ").title()
    return SITE_NAMES.get(site, {"cy": fallback, "en": fallback})


def email_address(recipient: Recipient) -> str:
    if "email" not in recipient.channels:
        raise NoChannel("the person has not agreed to email")
    if not recipient.email:
        raise NoChannel("no email address is known")
    return recipient.email


def compose(kind: str, recipient: Recipient, values: dict[str, object], render: Render) -> Composed:
    """Render the message in the recipient's language(s); both are joined Welsh first."""
    languages = languages_for(recipient)
    values = {"given_name": recipient.given_name, **values}
    parts = [render(kind, language, values) for language in languages]
    subject = " / ".join(subject for subject, _ in parts)
    body = BILINGUAL_SEPARATOR.join(body.strip() for _, body in parts) + "\n"
    return Composed(subject, body, languages)
