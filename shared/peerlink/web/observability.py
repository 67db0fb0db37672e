"""Per-request correlation id, request metrics and one JSON log line per request."""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, g, request
from prometheus_client import Histogram

from peerlink import context

log = logging.getLogger("peerlink.http")

HEADER = "X-Correlation-ID"
# Only a UUID is taken from a client: the id travels into events that leave the site, and a
# free-text one could carry a name there.
_ACCEPTABLE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

REQUEST_SECONDS = Histogram(
    "peerlink_http_request_seconds", "HTTP requests by endpoint and status", ["method", "endpoint", "status"]
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    # For what is not a page (JSON, CSV, calendars): nothing in it may run or be framed if a
    # browser is ever made to render it. Pages set their own (``forms.html_page``).
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}


def install(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.peerlink_started = time.perf_counter()
        offered = request.headers.get(HEADER, "")
        # A client's id is kept when it is sane; anything else gets a fresh one.
        g.peerlink_context_token = context.set_correlation_id(
            offered if _ACCEPTABLE.match(offered) else context.new_correlation_id()
        )

    @app.after_request
    def _finish(response: Response) -> Response:
        correlation = context.correlation_id()
        if correlation:
            response.headers[HEADER] = correlation
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # Nothing is kept by a browser or a proxy unless the view says it may be (a public
        # listing): most answers hold someone's record or a site's figures.
        response.headers.setdefault("Cache-Control", "no-store")
        started = g.pop("peerlink_started", None)
        if started is not None:
            elapsed = time.perf_counter() - started
            endpoint = request.url_rule.rule if request.url_rule else "unmatched"
            REQUEST_SECONDS.labels(request.method, endpoint, str(response.status_code)).observe(elapsed)
            if endpoint not in ("/health/live", "/health/ready", "/metrics"):
                log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("peerlink_context_token", None)
        if token is not None:
            context.reset_correlation_id(token)
