"""The audit trail: who read or changed a person's record, when, through which request.

One mechanism for every service that keeps someone's record (a person in referrals, a mentor in
matching, a public guest in events, a recipient in notifications). It is written at the edge,
where the request and its principal are known:

- ``changed(conn, subject)`` in the transaction that makes the change, so a change that fails
  (rolled back) leaves no entry and a committed change always has one;
- ``read(subjects)`` after the view has read, in a small transaction of its own (a read
  changes nothing to roll back with).

An entry holds ids and the actor only: the subject's kind and id, a related record's id (a
referral, a registration), the action, the token's label and role, the request's method and
*route template* (never the URL with its query, never a body) and the correlation id. So an
erasure (``person.erased``, a guest's erasure) has nothing personal to remove from it and the
trail outlives the erasure it records.

Each service adds the table to its own metadata with :func:`audit_table` (and creates it with a
migration of its own), so only services that keep people's records have one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from peerlink import context
from peerlink.db import UTCDateTime, read_transaction, write_transaction
from peerlink.web import paging

READ, CHANGE, ERASE = "read", "change", "erase"
TABLE = "peerlink_audit"
# Who calls a public page (a self-referral, a public registration): the person themselves.
PUBLIC_ACTOR = ("the person (public page)", "public")


def audit_table(metadata: sa.MetaData, name: str = TABLE) -> sa.Table:
    """The audit table in a service's own metadata."""
    return sa.Table(
        name,
        metadata,
        sa.Column(
            "position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.Uuid, nullable=False),
        sa.Column("related_id", sa.Uuid),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("what", sa.String(120), nullable=False),
        sa.Column("correlation_id", sa.String(100)),
        sa.Index(f"ix_{name}_subject", "subject_kind", "subject_id", "position"),
    )


@dataclass(frozen=True)
class Subject:
    """Whose record: ``kind`` (person, mentor, guest, recipient…) and id, and the record of theirs
    the request touched, if it was one in particular (a referral, a registration)."""

    kind: str
    id: uuid.UUID
    related_id: uuid.UUID | None = None


def _who() -> tuple[str, str]:
    principal = g.get("peerlink_principal")
    if principal is None:
        return PUBLIC_ACTOR
    return principal.label or principal.role, principal.role


def _what() -> str:
    rule = request.url_rule.rule if request.url_rule else request.path
    return f"{request.method} {rule}"[:120]


class AuditTrail:
    """Records entries in one service's audit table and reads a subject's trail back."""

    def __init__(self, table: sa.Table):
        self.table = table

    def entries(self, action: str, subjects: Iterable[Subject]) -> list[dict[str, Any]]:
        actor, role = _who()
        what, now, correlation = _what(), datetime.now(UTC), context.correlation_id()
        unique = dict.fromkeys(subjects)  # a list showing someone twice records them once
        return [
            {
                "at": now,
                "subject_kind": subject.kind,
                "subject_id": subject.id,
                "related_id": subject.related_id,
                "action": action,
                "actor": actor[:100],
                "role": role[:20],
                "what": what,
                "correlation_id": correlation,
            }
            for subject in unique
        ]

    def read(self, engine: sa.Engine, subjects: Iterable[Subject]) -> None:
        """Record that this request showed these subjects' records."""
        entries = self.entries(READ, subjects)
        if entries:
            with write_transaction(engine) as conn:
                conn.execute(self.table.insert(), entries)

    def changed(self, conn: sa.Connection, *subjects: Subject, action: str = CHANGE) -> None:
        """Record a change in the transaction that makes it (``conn`` is the unit of work's)."""
        entries = self.entries(action, subjects)
        if entries:
            conn.execute(self.table.insert(), entries)

    def trail(
        self, conn: sa.Connection, kind: str, subject_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[Any], int]:
        """A subject's entries, newest first, and how many there are."""
        mine = sa.and_(self.table.c.subject_kind == kind, self.table.c.subject_id == subject_id)
        rows = conn.execute(
            sa.select(self.table).where(mine).order_by(self.table.c.position.desc()).limit(limit).offset(offset)
        ).all()
        total = conn.execute(sa.select(sa.func.count()).select_from(self.table).where(mine)).scalar_one()
        return list(rows), int(total)

    def page(
        self, engine: sa.Engine, subject: Subject, query: dict[str, Any], *, exists: bool, missing: str
    ) -> dict[str, Any]:
        """The body of a ``GET …/audit`` endpoint: a page of the subject's trail. 404 (``missing``)
        when the subject is unknown and nothing is recorded about them (an erased subject keeps
        their trail). Reading the trail is itself recorded, after the page is taken."""
        with read_transaction(engine) as conn:
            rows, total = self.trail(conn, subject.kind, subject.id, limit=query["limit"], offset=query["offset"])
        if not total and not exists:
            abort(404, message=missing)
        self.read(engine, [subject])
        return {"items": [dict(row._mapping) for row in rows], "total": total, **query}


# The endpoint's schemas (each service documents its own ``GET …/audit`` with them) ----------


class AuditQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = paging.offset()


class AuditEntryOut(Schema):
    at = fields.AwareDateTime()
    action = fields.String(metadata={"enum": [READ, CHANGE, ERASE]})
    actor = fields.String(metadata={"description": "The token's label (or its role)."})
    role = fields.String()
    what = fields.String(metadata={"description": "The request: method and route (never its values)."})
    subject_kind = fields.String()
    subject_id = fields.UUID()
    related_id = fields.UUID(allow_none=True, metadata={"description": "The record of theirs it touched, if one."})
    correlation_id = fields.String(allow_none=True)


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEntryOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
