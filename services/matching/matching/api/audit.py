"""Matching's part of the audit trail (``peerlink.audit``): a mentor's record."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.engine import Connection

from matching import store
from peerlink.audit import ERASE, AuditTrail, Subject
from peerlink.web import service

__all__ = ["ERASE", "MENTOR", "TRAIL", "changed", "read"]

MENTOR = "mentor"
TRAIL = AuditTrail(store.audit_log)


def read(mentor_ids: Iterable[uuid.UUID], related_id: uuid.UUID | None = None) -> None:
    """Record that this request showed these mentors' records (for ``related_id``'s sake, when
    they were shown beside another record: the match request they were weighed for)."""
    TRAIL.read(service().engine, (Subject(MENTOR, mentor_id, related_id) for mentor_id in mentor_ids))


def changed(conn: Connection, mentor_id: uuid.UUID, related_id: uuid.UUID | None = None) -> None:
    """Record a change of a mentor's record in the transaction that makes it."""
    TRAIL.changed(conn, Subject(MENTOR, mentor_id, related_id))
