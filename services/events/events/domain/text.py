"""What free text organisers and guests write may hold: one line, or paragraphs.

A name, a title or a venue is one line wherever it is shown: a calendar's name and an event's
SUMMARY and LOCATION, a page's heading, an email's subject, a door list. A line break in one
(typed or pasted) has no meaning there and breaks what expects a line (an iCalendar content
line, a mail header), and the other control characters (a tab, an escape, a bell; C1 controls)
are never part of one either. So the API refuses them there (:data:`ONE_LINE`), and a
description or an access note, which may run to paragraphs, keeps its line breaks and tabs only
(:data:`PARAGRAPHS`).

Text stored before these rules may hold any of them (anything but NUL and half a surrogate
pair, which no store keeps): :func:`as_one_line` and :func:`as_paragraphs` are how it is shown
where the rule matters, so an old record is rendered, never an error.
"""

from __future__ import annotations

import re

# Written with escapes that Python's re and ECMAScript read alike: the OpenAPI document
# carries these patterns, and a client may check its text with them before sending it.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_LINE_SEPARATORS = r"\u2028\u2029"  # Unicode's line and paragraph separators: breaks too
# Checked with fullmatch: in Python, "$" alone also matches before a final "\n".
ONE_LINE = re.compile(rf"^[^{_CONTROLS}{_LINE_SEPARATORS}]*$")
PARAGRAPHS = re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")  # \t, \n and \r kept

# A run of breaks and controls with the spaces around it; an ordinary space is left alone.
_BREAK_RUN = re.compile(rf"\s*[{_CONTROLS}{_LINE_SEPARATORS}][\s{_CONTROLS}{_LINE_SEPARATORS}]*")
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")  # str.splitlines' breaks
_CONTROL_BUT_TAB_OR_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def as_one_line(text: str) -> str:
    """Stored text as one line: a run of breaks and controls is one space, or none at either end."""
    return _BREAK_RUN.sub(lambda run: "" if run.start() == 0 or run.end() == len(text) else " ", text)


def as_paragraphs(text: str) -> str:
    """Stored text with its line breaks as ``\\n`` (however they were written) and no other
    control character but the tab."""
    return _CONTROL_BUT_TAB_OR_NEWLINE.sub("", _LINE_BREAK.sub("\n", text))
