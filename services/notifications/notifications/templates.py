"""Message templates: Jinja2 files named ``<kind>.<language>.j2``, each with a subject and a
body block, so that a missing Welsh (or English) version is a missing file anyone can see."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

DIRECTORY = Path(__file__).parent / "templates"
LANGUAGES = ("cy", "en")


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(DIRECTORY),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - plain-text email and SMS; nothing here is HTML
        keep_trailing_newline=True,
    )


def kinds() -> list[str]:
    return sorted({path.name.split(".")[0] for path in DIRECTORY.glob("*.j2")})


def template_name(kind: str, language: str) -> str:
    return f"{kind}.{language}.j2"


def render(kind: str, language: str, values: dict[str, object]) -> tuple[str, str]:
    template = environment().get_template(template_name(kind, language))
    context = template.new_context(dict(values))
    subject = "".join(template.blocks["subject"](context)).strip()
    body = "".join(template.blocks["body"](context))
    return subject, body
