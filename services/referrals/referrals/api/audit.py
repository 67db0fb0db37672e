"""The audit log: who read or changed a person's record, written at the edge where the request
and its principal are known. A change is recorded in the same transaction as the change; reads
are recorded in a small transaction of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import g, request
from sqlalchemy.engine import Connection

from peerlink import context
from peerlink.db import write_transaction
from peerlink.web import service
from referrals import store

READ, CHANGE, ERASE = "read", "change", "erase"


def _who() -> tuple[str, str]:
    principal = g.get("peerlink_principal")
    if principal is None:
        return "the person (self-referral)", "public"
    return principal.label or principal.role, principal.role


def _entries(action: str, people: Iterable[tuple[uuid.UUID, uuid.UUID | None]]) -> list[dict[str, Any]]:
    actor, role = _who()
    rule = request.url_rule.rule if request.url_rule else request.path
    what = f"{request.method} {rule}"[:120]
    now = datetime.now(UTC)
    seen: set[tuple[uuid.UUID, uuid.UUID | None]] = set()
    entries = []
    for person_id, referral_id in people:
        if (person_id, referral_id) in seen:
            continue
        seen.add((person_id, referral_id))
        entries.append(
            {
                "at": now,
                "person_id": person_id,
                "referral_id": referral_id,
                "action": action,
                "actor": actor[:100],
                "role": role,
                "what": what,
                "correlation_id": context.correlation_id(),
            }
        )
    return entries


def read(people: Iterable[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
    """Record that this request showed these people's records (person, referral)."""
    entries = _entries(READ, people)
    if entries:
        with write_transaction(service().engine) as conn:
            store.add_audit(conn, entries)


def changed(
    conn: Connection, person_id: uuid.UUID, referral_id: uuid.UUID | None = None, *, action: str = CHANGE
) -> None:
    """Record a change in the transaction that makes it."""
    store.add_audit(conn, _entries(action, [(person_id, referral_id)]))
