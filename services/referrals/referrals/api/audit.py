"""Referrals' part of the audit trail (``peerlink.audit``): a person's record, and the referral
of theirs a request touched."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.engine import Connection

from peerlink.audit import CHANGE, ERASE, READ, AuditTrail, Subject
from peerlink.web import service
from referrals import store

__all__ = ["CHANGE", "ERASE", "PERSON", "READ", "TRAIL", "changed", "read"]

PERSON = "person"
TRAIL = AuditTrail(store.audit_log)


def read(people: Iterable[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
    """Record that this request showed these people's records (person, referral)."""
    TRAIL.read(service().engine, (Subject(PERSON, person, referral) for person, referral in people))


def changed(
    conn: Connection, person_id: uuid.UUID, referral_id: uuid.UUID | None = None, *, action: str = CHANGE
) -> None:
    """Record a change in the transaction that makes it."""
    TRAIL.changed(conn, Subject(PERSON, person_id, referral_id), action=action)
