"""Message templates: Jinja2 files named ``<kind>.<language>.j2`` (``match-ended.cy.j2``), so
a missing Welsh or English version is a missing file anyone can see.

Each file starts with its revision, ``{# revision: 3 #}``. Whoever changes the English wording
raises its revision; the Welsh file is brought to the same revision when its translation is
done. Until then the kind is *not ready*: nothing of that kind is sent, in either language
(sending English alone would treat Welsh less favourably), and ``GET /templates`` says why.

A file has a ``subject`` block, a ``body`` block (plain text email) and, for kinds that may
go by text, an ``sms`` block: short, and discreet (see :mod:`notifications.domain.sms`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from notifications.domain import wording
from notifications.domain.messages import Rendered
from notifications.domain.sms import indiscreet_words

DIRECTORY = Path(__file__).parent / "templates"
LANGUAGES = ("cy", "en")
_REVISION = re.compile(r"\A\{#-?\s*revision:\s*(\d+)\s*-?#\}")


@dataclass(frozen=True)
class TemplateFile:
    language: str
    name: str
    revision: int | None  # None: no revision header


@dataclass(frozen=True)
class KindTemplates:
    kind: str
    files: dict[str, TemplateFile]
    problem: str | None  # None: ready to send
    has_sms: bool

    @property
    def ready(self) -> bool:
        return self.problem is None


class UnknownKind(LookupError):
    pass


class TemplateError(Exception):
    """A template could not be rendered with the values given (a missing variable, a syntax error)."""


class TemplateSet:
    def __init__(self, directory: Path = DIRECTORY, *, zone: ZoneInfo | None = None):
        self.directory = directory
        self.zone = zone or ZoneInfo("Europe/London")
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - plain-text email and SMS; nothing here is HTML
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters["when"] = self._when
        self.environment.filters["clock"] = self._clock
        self.environment.filters["discreet"] = _discreet

    # What there is -----------------------------------------------------------------------

    def kinds(self) -> list[str]:
        return sorted({path.name.split(".")[0] for path in self.directory.glob("*.j2") if _is_kind(path)})

    def describe(self, kind: str) -> KindTemplates:
        files = {}
        for language in LANGUAGES:
            path = self.directory / template_name(kind, language)
            if path.is_file():
                files[language] = TemplateFile(language, path.name, _revision(path, path.stat().st_mtime_ns))
        if not files:
            raise UnknownKind(kind)
        return KindTemplates(kind, files, _problem(kind, files), self._has_sms(kind, files))

    def problem(self, kind: str) -> str | None:
        try:
            return self.describe(kind).problem
        except UnknownKind:
            return f"there are no templates for {kind}"

    def _has_sms(self, kind: str, files: dict[str, TemplateFile]) -> bool:
        try:
            return all("sms" in self.environment.get_template(f.name).blocks for f in files.values())
        except jinja2.TemplateError:
            return False

    # Rendering ---------------------------------------------------------------------------

    def render(self, kind: str, language: str, values: dict[str, Any]) -> Rendered:
        try:
            template = self.environment.get_template(template_name(kind, language))
        except jinja2.TemplateNotFound:
            raise UnknownKind(f"{kind} ({language})") from None
        try:
            context = template.new_context({**values, "language": language})
            subject = " ".join("".join(template.blocks["subject"](context)).split())
            body = _tidy("".join(template.blocks["body"](context)))
            sms = _tidy("".join(template.blocks["sms"](context))) if "sms" in template.blocks else None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{template.name}: {exc.message}") from None
        except (jinja2.TemplateError, KeyError, TypeError, ValueError) as exc:
            raise TemplateError(f"{template.name}: {exc}") from None
        return Rendered(subject, body, sms)

    def source(self, kind: str, language: str) -> str:
        path = self.directory / template_name(kind, language)
        if not path.is_file():
            raise UnknownKind(f"{kind} ({language})")
        return path.read_text(encoding="utf-8")

    @jinja2.pass_context
    def _when(self, context: Any, moment: datetime | str | None) -> str:
        if moment is None:
            return ""
        return wording.when(_datetime(moment), context.get("language", "en"), self.zone)

    def _clock(self, moment: datetime | str) -> str:
        return wording.clock_time(_datetime(moment), self.zone)


def _discreet(value: str | None, instead: str = "") -> str:
    """For texts: a value from elsewhere (an event's title, a venue) only if it gives nothing away."""
    if not value or indiscreet_words(value):
        return instead
    return value


def template_name(kind: str, language: str) -> str:
    return f"{kind}.{language}.j2"


def _is_kind(path: Path) -> bool:
    parts = path.name.split(".")
    return len(parts) == 3 and parts[1] in LANGUAGES and not parts[0].startswith("_")


@cache
def _revision(path: Path, mtime_ns: int) -> int | None:
    """The revision in the file's first line (cached until the file changes)."""
    with open(path, encoding="utf-8") as handle:
        match = _REVISION.match(handle.readline())
    return int(match.group(1)) if match else None


def _problem(kind: str, files: dict[str, TemplateFile]) -> str | None:
    for language, word in (("cy", "Welsh"), ("en", "English")):
        if language not in files:
            return f"the {word} template {template_name(kind, language)} is missing"
        if files[language].revision is None:
            return f"{files[language].name} has no revision header ({{# revision: N #}})"
    welsh, english = files["cy"].revision, files["en"].revision
    assert welsh is not None and english is not None
    if welsh < english:
        return f"the Welsh template is at revision {welsh}, older than the English at {english}"
    return None


def _datetime(moment: datetime | str) -> datetime:
    return moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)


def _tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, one newline at the end."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"
