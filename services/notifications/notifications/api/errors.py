"""Domain refusals as problem+json."""

from __future__ import annotations

from flask import Flask, Response

from notifications.templating import TemplateError, UnknownKind
from peerlink.web import problem


class NotFound(LookupError):
    pass


class Conflict(Exception):
    pass


class Unprocessable(ValueError):
    def __init__(self, pointer: str, detail: str):
        super().__init__(detail)
        self.pointer = pointer


def install(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        return problem(404, str(exc))

    @app.errorhandler(UnknownKind)
    def unknown_kind(exc: UnknownKind) -> Response:
        return problem(404, f"There are no templates for {exc}.")

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict) -> Response:
        return problem(409, str(exc))

    @app.errorhandler(Unprocessable)
    def unprocessable(exc: Unprocessable) -> Response:
        return problem(422, str(exc), errors=[{"pointer": exc.pointer, "detail": str(exc)}])

    @app.errorhandler(TemplateError)
    def template_error(exc: TemplateError) -> Response:
        return problem(422, str(exc), title="The template cannot be rendered with these values")
