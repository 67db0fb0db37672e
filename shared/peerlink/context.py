"""The correlation id of the work in hand, from an HTTP request or a consumed event.

It flows into every event emitted and every log line without being passed around.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("peerlink_correlation_id", default=None)


def correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def correlated(value: str | None) -> Iterator[str]:
    """Run a block under a correlation id (a new one when ``value`` is empty)."""
    token = _correlation_id.set(value or new_correlation_id())
    try:
        yield _correlation_id.get() or ""
    finally:
        _correlation_id.reset(token)


def set_correlation_id(value: str | None) -> object:
    return _correlation_id.set(value)


def reset_correlation_id(token: object) -> None:
    _correlation_id.reset(token)  # type: ignore[arg-type]
