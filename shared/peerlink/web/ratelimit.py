"""Rate limits for what anyone on the internet can post (the public self-referral form).

Built on ``limits`` (the engine under Flask-Limiter) with a moving window per client address.
Each app has its own storage: ``memory://`` by default (one process; gunicorn's workers each
count on their own, so the effective limit is the limit times the workers), or a shared one
such as ``redis://`` from ``PEERLINK_RATE_LIMIT_STORAGE`` so that every worker and instance
counts together. Behind a reverse proxy set ``PEERLINK_TRUSTED_PROXIES`` to the number of
proxies, or every client looks like the proxy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse, storage, strategies

F = TypeVar("F", bound=Callable[..., Any])

LIMIT = "_peerlink_rate_limit"
EXTENSION = "peerlink.ratelimit"


class RateLimited(Exception):
    """Too many posts from one address; ``retry_after`` in whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.retry_after = retry_after


def rate_limited(limit: str) -> Callable[[F], F]:
    """``@rate_limited("5 per 10 minutes")``: posts (and puts) of one client address, counted
    together for the view; a view that asks is refused with :class:`RateLimited`."""
    parsed = parse(limit)

    def mark(view: F) -> F:
        setattr(view, LIMIT, parsed)
        return view

    return mark


def install(app: Flask, storage_uri: str | None) -> None:
    store = storage.storage_from_string(storage_uri or "memory://")
    app.extensions[EXTENSION] = strategies.MovingWindowRateLimiter(store)


def check(view: Any) -> None:
    """Count this request against its view's limit (if it has one); raise when over it."""
    item: RateLimitItem | None = getattr(view, LIMIT, None)
    if item is None or request.method not in ("POST", "PUT", "PATCH"):
        return
    limiter: strategies.RateLimiter = current_app.extensions[EXTENSION]
    key = f"{request.endpoint}:{request.remote_addr or 'unknown'}"
    if not limiter.hit(item, key):
        reset = limiter.get_window_stats(item, key).reset_time
        raise RateLimited(max(1, math.ceil(reset - time.time())))


def retry_after(response: Response, exc: RateLimited) -> Response:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
