"""Notifications' part of the audit trail (``peerlink.audit``): a recipient's record (contact
details, preferences, what was written to them), keyed by their id as the other services know it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.engine import Connection

from notifications import store
from peerlink.audit import CHANGE, ERASE, AuditTrail, Subject
from peerlink.web import service

__all__ = ["ERASE", "RECIPIENT", "TRAIL", "changed", "read"]

RECIPIENT = "recipient"
TRAIL = AuditTrail(store.audit_log)


def _id(recipient_id: str | uuid.UUID) -> uuid.UUID:
    return recipient_id if isinstance(recipient_id, uuid.UUID) else uuid.UUID(recipient_id)


def _is_id(recipient_id: str | uuid.UUID) -> bool:
    try:
        _id(recipient_id)
    except ValueError:
        return False
    return True


def read(recipients: Iterable[tuple[str | uuid.UUID, uuid.UUID | None]]) -> None:
    """Record that this request showed these recipients' records (recipient, delivery)."""
    TRAIL.read(service().engine, (Subject(RECIPIENT, _id(who), related) for who, related in recipients if _is_id(who)))


def changed(conn: Connection, recipient_id: str | uuid.UUID, *, action: str = CHANGE) -> None:
    """Record a change of a recipient's record in the transaction that makes it."""
    TRAIL.changed(conn, Subject(RECIPIENT, _id(recipient_id)), action=action)
