"""Events' part of the audit trail (``peerlink.audit``): a public guest's record (name, email,
phone), and the registration of theirs a request touched; an artist's consent to how their
artwork is credited (the artwork's id: the name itself is never in the trail)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.engine import Connection

from events.store.tables import audit_log
from peerlink.audit import CHANGE, ERASE, AuditTrail, Subject
from peerlink.web import service

__all__ = ["ARTWORK", "ERASE", "GUEST", "TRAIL", "changed", "credit_changed", "read"]

GUEST = "guest"
ARTWORK = "artwork"
TRAIL = AuditTrail(audit_log)


def read(guests: Iterable[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
    """Record that this request showed these guests' details (guest, registration)."""
    TRAIL.read(service().engine, (Subject(GUEST, guest, registration) for guest, registration in guests))


def changed(
    conn: Connection, guest_id: uuid.UUID, registration_id: uuid.UUID | None = None, *, action: str = CHANGE
) -> None:
    """Record a change of a guest's record in the transaction that makes it."""
    TRAIL.changed(conn, Subject(GUEST, guest_id, registration_id), action=action)


def credit_changed(conn: Connection, artwork_id: uuid.UUID) -> None:
    """Record, in the transaction that makes it, a change of consent to an artwork's credit."""
    TRAIL.changed(conn, Subject(ARTWORK, artwork_id), action=CHANGE)
