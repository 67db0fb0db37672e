"""The move of referrals' audit log to the shared audit trail keeps every entry."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from peerlink.db import UTCDateTime, create_engine
from referrals.app import DEFINITION
from referrals.store import audit_log

OLD_LOG = sa.table(
    "audit_log",
    sa.column("at", UTCDateTime()),
    sa.column("person_id", sa.Uuid),
    sa.column("referral_id", sa.Uuid),
    *(sa.column(name, sa.String) for name in ("action", "actor", "role", "what")),
)


def test_the_audit_log_moves_to_the_shared_trail_with_every_entry_and_numbering_goes_on(database_url):
    DEFINITION.migrations.upgrade(database_url, "referrals_0003")
    person, referral = uuid.uuid4(), uuid.uuid4()
    rows = [
        {"at": datetime(2026, 11, n, tzinfo=UTC), "person_id": person, "referral_id": referral if n == 1 else None,
         "action": "read", "actor": f"coordinator {n}", "role": "coordinator", "what": "GET /people/<uuid:person_id>"}
        for n in (1, 2, 3)
    ]  # fmt: skip
    engine = create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(OLD_LOG), rows)
        DEFINITION.migrations.upgrade(database_url)
        with engine.begin() as conn:
            assert "audit_log" not in sa.inspect(conn).get_table_names()
            moved = conn.execute(sa.select(audit_log).order_by(audit_log.c.position)).all()
            assert [(m.actor, m.subject_kind, m.subject_id, m.related_id, m.at) for m in moved] == [
                (r["actor"], "person", person, r["referral_id"], r["at"]) for r in rows
            ]
            # A new entry is numbered after the copied ones (PostgreSQL's sequence was moved on).
            conn.execute(
                audit_log.insert(),
                {"at": datetime.now(UTC), "subject_kind": "person", "subject_id": person, "action": "read",
                 "actor": "after", "role": "coordinator", "what": "GET /people/<uuid:person_id>"},
            )  # fmt: skip
            last = conn.execute(sa.select(sa.func.max(audit_log.c.position))).scalar_one()
        print(f"entries before: {len(rows)}, moved: {len(moved)}, next position: {last}")
        assert last == moved[-1].position + 1
    finally:
        engine.dispose()
