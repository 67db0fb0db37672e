"""The application factory every service's ``create_app`` builds on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from flask_smorest import Blueprint, abort
from werkzeug.middleware.proxy_fix import ProxyFix

from peerlink.config import ConfigError, Settings
from peerlink.outbox import Producer, UnitOfWork
from peerlink.web import health, observability, ratelimit, text_input
from peerlink.web.auth import TokenAuthenticator, _view_for_request, public, undeclared_endpoints
from peerlink.web.problems import ProblemApi, problem

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass
class ServiceContext:
    """What request handlers need from the world, set up once in the factory."""

    settings: Settings
    engine: sa.Engine
    producer: Producer
    readiness: health.ReadinessChecks

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.producer)


def service() -> ServiceContext:
    return current_app.extensions["peerlink"]  # type: ignore[no-any-return]


def create_service_app(
    settings: Settings,
    engine: sa.Engine,
    *,
    title: str,
    description: str,
    blueprints: Iterable[Blueprint],
    version: str = "1.0.0",
) -> Flask:
    # No static folder: nothing is served from disk, so no route escapes the roles table.
    app = Flask(settings.service, static_folder=None)
    app.config.update(
        API_TITLE=title,
        API_VERSION=version,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": description},
            "security": [{"bearer": []}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        },
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.extensions["peerlink"] = ServiceContext(
        settings=settings,
        engine=engine,
        producer=Producer(settings.site, settings.service),
        readiness=health.ReadinessChecks(engine, settings.amqp_url),
    )
    trusted_proxies = _trusted_proxies(settings)
    if trusted_proxies:
        # Client addresses (rate limits, logs) from X-Forwarded-For, as the proxies in front set it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies, x_host=trusted_proxies)  # type: ignore[method-assign]
    # First of all: an oversized body is refused before anything else looks at the request.
    app.before_request(_body_within_limit)
    ratelimit.install(app, settings.optional("PEERLINK_RATE_LIMIT_STORAGE"))
    app.before_request(_rate_limit)
    app.register_error_handler(ratelimit.RateLimited, _too_many)
    observability.install(app)
    authenticator = TokenAuthenticator(settings.tokens, settings.site)
    authenticator.install(app)
    app.extensions["peerlink.auth"] = authenticator
    app.before_request(_json_bodies_only)
    app.before_request(text_input.refuse_unstorable_text)
    api = ProblemApi(app)
    app.register_blueprint(health.blueprint)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    missing = undeclared_endpoints(app)
    if missing:
        raise RuntimeError(f"endpoints without @public or @requires(...): {', '.join(missing)}")
    return app


def _trusted_proxies(settings: Settings) -> int:
    value = settings.optional("PEERLINK_TRUSTED_PROXIES") or "0"
    if not value.isdigit() or int(value) > 5:
        raise ConfigError(f"PEERLINK_TRUSTED_PROXIES must be the number of proxies in front (0 to 5), not {value!r}")
    return int(value)


def _too_many(exc: ratelimit.RateLimited) -> Response:
    return ratelimit.retry_after(
        problem(429, f"Too many requests from this address; retry in {exc.retry_after} s."), exc
    )


def _rate_limit() -> None:
    view = _view_for_request()
    if view is not None:
        ratelimit.check(view)


def _body_within_limit() -> None:
    """413 for a body over ``PEERLINK_MAX_BODY_BYTES`` on every route, whether or not its view
    would read it (werkzeug only refuses one when the body is read). A body sent without a length
    (chunked) is cut at the same limit by werkzeug as it is read."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        abort(413, message=f"The body is larger than this service takes ({limit} bytes).")


def _json_bodies_only() -> None:
    """API bodies are JSON; public HTML forms (``@public``) may post form data."""
    if request.method not in BODY_METHODS or not request.content_length:
        return
    if request.is_json:
        return
    view = _view_for_request()
    if getattr(view, "_peerlink_accepts_forms", False) and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return
    abort(415, message="Send the body as application/json.")


__all__ = ["ServiceContext", "create_service_app", "public", "service"]
