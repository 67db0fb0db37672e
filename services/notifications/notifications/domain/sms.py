"""Texts: how many parts a text is billed as, whether it is discreet, whose phone it is.

Segments: a text that fits the GSM 03.38 alphabet is sent in 7-bit units, 160 in a single
text and 153 a part when it is split (the rest carries the join); the extension characters
(``^{}\\[~]|€`` and form feed) take two units each and are never split across parts. One
character outside that alphabet (``ŵ``, ``ŷ``, ``â``, a curly apostrophe, an emoji) turns the
whole text into UCS-2: 70 UTF-16 units in a single text, 67 a part, a surrogate pair never
split. GOV.UK Notify keeps Welsh accents rather than stripping them, so a Welsh text with a
circumflex costs more parts; we count it as it will be billed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Notify's own ceiling for one text (6 parts of GSM-7).
MAX_CHARACTERS = 918


@dataclass(frozen=True)
class TextSize:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7 (extension characters count 2), UTF-16 units for UCS-2
    segments: int


def text_size(text: str) -> TextSize:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        return TextSize("GSM-7", sum(costs), _segments(costs, GSM7_SINGLE, GSM7_PART))
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return TextSize("UCS-2", sum(costs), _segments(costs, UCS2_SINGLE, UCS2_PART))


def _segments(costs: list[int], single: int, part: int) -> int:
    total = sum(costs)
    if total <= single:
        return 1
    # Pack greedily: an escape pair or a surrogate pair is never cut in two.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return segments


# Discreet by default: a text can be read over someone's shoulder or on a lock screen, so it
# never says why someone is in touch with us. Stems, English and Welsh, matched anywhere in a
# word ("DrugAid", "cyffuriau", "alcohol-free").
SENSITIVE = re.compile(
    r"drug|alcohol|addict|substance|misuse|rehab|detox|overdose|methadone|heroin|cocaine|cannabis|"
    r"opiate|opioid|sober|sobriety|relapse|recovery|mental health|psychiatr|"
    r"cyffur|caeth|camddefnydd|gorddos|adferiad|sobr|iechyd meddwl",
    re.IGNORECASE,
)


def indiscreet_words(text: str) -> list[str]:
    """The sensitive words in ``text`` (empty when it is discreet)."""
    return sorted({match.group(0).lower() for match in SENSITIVE.finditer(text)})


def normalise_phone(raw: str | None) -> str | None:
    """A UK-style number as E.164 (``+447700900123``), or None when it is not a phone number."""
    if not raw:
        return None
    digits = re.sub(r"[\s().-]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+44" + digits[1:]
    elif digits.startswith("44"):
        digits = "+" + digits
    if not re.fullmatch(r"\+\d{8,15}", digits):
        return None
    return digits


# What someone may text back. Welsh and English; matched on the whole message, any case.
STOP_WORDS = frozenset({"STOP", "STOPIO", "STOP ALL", "STOPALL", "UNSUBSCRIBE", "DAD-DANYSGRIFIO"})
START_WORDS = frozenset({"START", "DECHRAU", "UNSTOP"})


def inbound_intent(content: str) -> str | None:
    """``"stop"``, ``"start"`` or None for an inbound text."""
    word = " ".join(content.strip().strip(".!").upper().split())
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None
