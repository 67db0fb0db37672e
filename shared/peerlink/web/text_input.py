"""Text a client sends is refused if no store can keep it: a NUL character, or half a UTF-16
surrogate pair (JSON's ``"\\ud800"`` decodes to one).

PostgreSQL rejects NUL in text ("A string literal cannot contain NUL (0x00) characters") and the
driver cannot encode a lone surrogate to UTF-8: either reached the database as a 500 (found by
schemathesis on the groups of events and the coordinators of notifications). Neither is ever
part of a name, a note or an address, so every service refuses them at the door, on SQLite as
on PostgreSQL, as a 422 naming the field, before any view reads the body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import request
from flask_smorest import abort

DETAIL = "Text may not contain NUL characters or unpaired surrogates."


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(node, str):
        if not storable(node):
            yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            if not storable(str(key)):
                yield (*path, str(key).encode("utf-8", "backslashreplace").decode())
            else:
                yield from _unstorable(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _unstorable(item, (*path, str(index)))


def _pointer(path: tuple[str, ...]) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)


def refuse_unstorable_text() -> None:
    """A ``before_request`` hook: query, path and body (JSON or form) checked alike."""
    errors = [
        {"parameter": name, "detail": DETAIL} for name, value in request.args.items(multi=True) if not storable(value)
    ]
    errors += [
        {"parameter": name, "detail": DETAIL}
        for name, value in (request.view_args or {}).items()
        if isinstance(value, str) and not storable(value)
    ]
    if request.is_json:
        body = request.get_json(silent=True)
        errors += [{"pointer": _pointer(path), "detail": DETAIL} for path in _unstorable(body)]
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        errors += [
            {"pointer": "/" + name, "detail": DETAIL}
            for name, value in request.form.items(multi=True)
            if not storable(value)
        ]
    if errors:
        abort(422, errors=errors)
