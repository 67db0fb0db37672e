"""Putting a message together from its templates, in one language or both (Welsh first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from notifications.domain.sms import TextSize, text_size

BILINGUAL_SEPARATOR = "\n\n— — —\n\n"
SMS_SEPARATOR = "\n\n"

# Said once at the end of every text: Welsh is welcome, and how to stop texts.
SMS_FOOTER = {
    "cy": "Croeso i chi gysylltu yn Gymraeg. Atebwch STOP i atal negeseuon testun.",
    "en": "Welsh welcome: croeso i'r Gymraeg. Reply STOP to stop texts.",
    "cy+en": "Croeso i'r Gymraeg. Atebwch STOP i atal negeseuon / Reply STOP to stop texts.",
}


@dataclass(frozen=True)
class Rendered:
    """One template in one language."""

    subject: str
    body: str
    sms: str | None  # None: the kind has no text version


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class ComposedText:
    text: str
    languages: tuple[str, ...]
    size: TextSize


Render = Callable[[str, str, dict[str, Any]], Rendered]


def compose_email(kind: str, languages: tuple[str, ...], context: dict[str, Any], render: Render) -> Composed:
    """Subject and body in each language, joined Welsh first."""
    parts = [render(kind, language, {**context, "language": language}) for language in languages]
    subject = " / ".join(part.subject for part in parts)
    body = BILINGUAL_SEPARATOR.join(part.body.strip() for part in parts) + "\n"
    return Composed(subject, body, languages)


def compose_text(kind: str, languages: tuple[str, ...], context: dict[str, Any], render: Render) -> ComposedText:
    parts = [render(kind, language, {**context, "language": language}) for language in languages]
    texts = [part.sms.strip() for part in parts if part.sms]
    if len(texts) != len(parts):
        raise NoTextVersion(kind)
    footer = SMS_FOOTER["+".join(languages)]
    text = SMS_SEPARATOR.join([*texts, footer])
    return ComposedText(text, languages, text_size(text))


class NoTextVersion(Exception):
    """The kind's templates have no ``sms`` block."""
