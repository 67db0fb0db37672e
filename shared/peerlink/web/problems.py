"""Errors as RFC 9457 problem details (``application/problem+json``), never a stack trace.

Field errors from marshmallow become ``errors: [{pointer, detail}]`` with JSON pointers
into the request body (or ``parameter`` for query and path arguments).
"""

from __future__ import annotations

import http
import logging
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Response, json, request
from flask_smorest import Api
from flask_smorest.spec import prepare_response
from werkzeug.exceptions import HTTPException, InternalServerError

from peerlink.db import is_connection_failure

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# How long a client is asked to wait when the database is away (a restart takes seconds).
RETRY_AFTER_SECONDS = 2


class FieldErrorSchema(ma.Schema):
    pointer = ma.fields.String(metadata={"description": "JSON pointer into the request body"})
    parameter = ma.fields.String(metadata={"description": "Name of the query or path parameter"})
    detail = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response of every Peerlink service."""

    type = ma.fields.String(metadata={"description": "A URI for the kind of problem", "example": "about:blank"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    correlation_id = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))

    class Meta:
        # RFC 9457 allows extension members, and some problems carry them (a refused transition's
        # status_now and allowed_actions, the open advocacy issues): documented as allowed.
        unknown = ma.INCLUDE


def problem(status: int, detail: str | None = None, *, title: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": extra.pop("type", "about:blank"),
        "title": title or http.HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.path if request else None
    body.update({k: v for k, v in extra.items() if v is not None})
    from peerlink import context

    if context.correlation_id():
        body["correlation_id"] = context.correlation_id()
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    return response


def field_errors(messages: Any) -> list[dict[str, str]]:
    """webargs' ``{"json": {"person": {"email": ["Not a valid email."]}}}`` -> pointers."""
    found: list[dict[str, str]] = []

    def walk(node: Any, path: list[str], location: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)], location)
        elif isinstance(node, list) and all(isinstance(item, str) for item in node):
            for detail in node:
                found.append(_field_error(location, path, detail))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, [*path, str(index)], location)
        else:
            found.append(_field_error(location, path, str(node)))

    if isinstance(messages, dict):
        for location, node in messages.items():
            walk(node, [], str(location))
    return found


def _field_error(location: str, path: list[str], detail: str) -> dict[str, str]:
    if location in ("json", "form", "body"):
        pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path if p != "_schema")
        return {"pointer": pointer if pointer != "/" else "", "detail": detail}
    return {"parameter": ".".join(path), "detail": detail}


class ProblemApi(Api):
    """flask-smorest's Api, answering and documenting every error as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        detail = data.get("message") or (error.description if error.description else None)
        errors = data.get("errors")
        if errors is None and "messages" in data:
            errors = field_errors(data["messages"])
        if errors and not data.get("message"):
            detail = _summary(status, errors)
        if status >= 500:
            detail = "Something went wrong on our side; it has been logged."
        response = problem(status, detail, errors=errors or None, type=data.get("type", "about:blank"))
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        if getattr(error, "www_authenticate", None) is not None and status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(error, HTTPException) and status == 405 and error.get_headers():
            for name, value in error.get_headers():
                if name.lower() == "allow":
                    response.headers["Allow"] = value
        return response

    def handle_unexpected(self, error: Exception) -> Response:
        log.exception("unhandled error in a request")
        return self.handle_http_exception(InternalServerError())

    def handle_database_error(self, error: sa.exc.SQLAlchemyError) -> Response:
        """The database away (restarting, unreachable, out of connections) is not a bug: 503 at
        once, with Retry-After, so that a client retries (with its Idempotency-Key) instead of
        reading a 500. Any other database error is a bug, answered as one."""
        if not is_connection_failure(error):
            return self.handle_unexpected(error)
        original = getattr(error, "orig", None)
        log.warning(
            "the database is unavailable; answered 503",
            extra={"error": type(original or error).__name__, "sqlstate": getattr(original, "sqlstate", None)},
        )
        response = problem(503, "The database is unavailable for a moment; retry shortly.")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def _register_error_handlers(self) -> None:
        super()._register_error_handlers()
        self._app.register_error_handler(Exception, self.handle_unexpected)
        self._app.register_error_handler(sa.exc.SQLAlchemyError, self.handle_database_error)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def _summary(status: int, errors: list[dict[str, str]]) -> str:
    if status == 400:
        return "The request body is not valid JSON."
    count = len(errors)
    return f"The request has {count} invalid field{'s' if count != 1 else ''}."
