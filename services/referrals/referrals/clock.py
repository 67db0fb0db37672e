"""The time, read in one place: requests ask ``clock.now()``, and tests may set it (a birthday
at 00:30 in Wales, a wait of ten days) without waiting for it."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
