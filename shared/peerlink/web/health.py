"""Liveness, readiness (database and broker checked) and Prometheus metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from peerlink.amqp import connect
from peerlink.web.auth import public

blueprint = Blueprint("health", __name__)


class ReadinessChecks:
    """Each check answers None when fine, else what is wrong; the broker's answer is cached briefly
    so that a probe every second does not open a connection every second."""

    def __init__(self, engine: sa.Engine, amqp_url: str, cache_seconds: float = 5.0):
        self.engine = engine
        self.amqp_url = amqp_url
        self.cache_seconds = cache_seconds
        self._broker: tuple[float, str | None] = (0.0, None)
        self._lock = threading.Lock()

    def database(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return type(exc).__name__
        return None

    def broker(self) -> str | None:
        with self._lock:
            checked_at, answer = self._broker
            if time.monotonic() - checked_at < self.cache_seconds:
                return answer
            try:
                connect(self.amqp_url, name="readiness", timeout=2.0, heartbeat=0).release()
                answer = None
            except Exception as exc:  # noqa: BLE001
                answer = type(exc).__name__
            self._broker = (time.monotonic(), answer)
            return answer

    def all(self) -> dict[str, Callable[[], str | None]]:
        return {"database": self.database, "broker": self.broker}


@blueprint.get("/health/live")
@public
def live() -> Response:
    return jsonify(status="ok")


@blueprint.get("/health/ready")
@public
def ready() -> tuple[Response, int]:
    checks: ReadinessChecks = current_app.extensions["peerlink"].readiness
    results = {name: check() for name, check in checks.all().items()}
    ok = all(value is None for value in results.values())
    body = {"status": "ok" if ok else "unavailable", "checks": {k: v or "ok" for k, v in results.items()}}
    return jsonify(body), (200 if ok else 503)


@blueprint.get("/metrics")
@public
def metrics() -> Response:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
