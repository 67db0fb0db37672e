"""The central office's tables: the event log (every event, once) and the read models built
from it, with the one statement that merges a projection's upserts whatever their order."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peerlink.db import UTCDateTime, insert_for, new_metadata
from reporting.domain.projection import Upsert

metadata = new_metadata()

_Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Every event received, in the order it arrived: the source of truth the read models are
# rebuilt from. ``source`` + ``id`` is unique by the CloudEvents spec, across every site.
event_log = sa.Table(
    "event_log",
    metadata,
    sa.Column("position", _Position, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("event_id", sa.String(100), nullable=False),
    sa.Column("event_type", sa.String(120), nullable=False),
    sa.Column("site", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("time", UTCDateTime(), nullable=False),
    sa.Column("envelope", sa.Text, nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("source", "event_id", name="uq_event_log_source_event_id"),
    sa.Index("ix_event_log_site_type", "site", "event_type"),
)


def _model(name: str, key: Sequence[sa.Column[Any]], *columns: sa.Column[Any]) -> sa.Table:
    """A read model: its key, the site, the time of the newest event that set it, its columns."""
    return sa.Table(
        f"rm_{name}",
        metadata,
        *key,
        sa.Column("site", sa.String(40), nullable=False, index=True),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        *columns,
    )


def _uuid(name: str, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.Uuid, **kwargs)


def _time(name: str, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime(), **kwargs)


MODELS: dict[str, sa.Table] = {
    "referrals": _model(
        "referrals",
        [_uuid("referral_id", primary_key=True)],
        _uuid("person_id"),
        sa.Column("source", sa.String(40)),
        sa.Column("support_needs", sa.JSON),
        sa.Column("age_band", sa.String(8)),
        sa.Column("self_referral", sa.Boolean),
        sa.Column("known_person", sa.Boolean),
        _time("received_at", index=True),
        _time("first_accepted_at"),
        _time("last_accepted_at"),
        _time("declined_at"),
        sa.Column("decline_reason", sa.String(40)),
        _time("withdrawn_at"),
        sa.Column("withdraw_reason", sa.String(40)),
        sa.Column("withdrawn_from", sa.String(20)),
        _time("first_matched_at"),
        _time("last_matched_at"),
        _time("activated_at"),
        _time("closed_at"),
        sa.Column("outcome", sa.String(20)),
        sa.Column("reentries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("matches", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requeues", sa.Integer, nullable=False, server_default="0"),
    ),
    "waits": _model(
        "waits",
        [_uuid("referral_id", primary_key=True), _uuid("match_id", primary_key=True)],
        _time("matched_at", index=True),
        sa.Column("days_waiting", sa.Integer),
    ),
    "advocacy": _model(
        "advocacy",
        [_uuid("issue_id", primary_key=True)],
        _uuid("person_id"),
        sa.Column("category", sa.String(40)),
        _time("opened_at"),
        _time("resolved_at"),
        sa.Column("resolution", sa.String(40)),
    ),
    "outcomes": _model(
        "outcomes",
        [_uuid("check_in_id", primary_key=True)],
        _uuid("referral_id"),
        _uuid("person_id"),
        sa.Column("scale", sa.String(40)),
        sa.Column("timepoint", sa.String(10)),
        sa.Column("score", sa.Integer),
        sa.Column("maximum", sa.Integer),
        sa.Column("baseline_score", sa.Integer),
        sa.Column("change", sa.Integer),
        sa.Column("weeks_since_baseline", sa.Integer),
        _time("recorded_at", index=True),
    ),
    "people": _model("people", [_uuid("person_id", primary_key=True)], _time("erased_at")),
    "mentors": _model(
        "mentors",
        [_uuid("mentor_id", primary_key=True)],
        sa.Column("kind", sa.String(20)),
        sa.Column("languages", sa.JSON),
        sa.Column("lived_experience", sa.JSON),
        sa.Column("capacity", sa.Integer),
        _uuid("person_id"),
        _time("registered_at"),
        _time("paused_at"),
        sa.Column("pause_reason", sa.String(40)),
        _time("resumed_at"),
        _time("left_at"),
        sa.Column("leave_reason", sa.String(40)),
    ),
    "matches": _model(
        "matches",
        [_uuid("match_id", primary_key=True)],
        _uuid("referral_id"),
        _uuid("person_id"),
        _uuid("mentor_id", index=True),
        sa.Column("method", sa.String(20)),
        sa.Column("score", sa.Float),
        _time("proposed_at"),
        _time("confirmed_at"),
        _time("declined_at"),
        sa.Column("declined_by", sa.String(20)),
        sa.Column("decline_reason", sa.String(40)),
        _time("ended_at"),
        sa.Column("end_reason", sa.String(40)),
        _time("cancelled_at"),
        sa.Column("cancel_reason", sa.String(40)),
    ),
    "art_events": _model(
        "art_events",
        [_uuid("event_id", primary_key=True)],
        _uuid("group_id"),
        _uuid("series_id"),
        sa.Column("kind", sa.String(20)),
        _time("starts_at", index=True),
        _time("ends_at"),
        sa.Column("capacity", sa.Integer),
        sa.Column("public", sa.Boolean),
        _time("cancelled_at"),
        sa.Column("cancel_reason", sa.String(40)),
    ),
    "registrations": _model(
        "registrations",
        [_uuid("registration_id", primary_key=True)],
        _uuid("event_id", index=True),
        _uuid("person_id"),
        sa.Column("guest", sa.Boolean),
        sa.Column("with_mentor", sa.Boolean),
        sa.Column("places", sa.Integer),
        _time("confirmed_at"),
        _time("waitlisted_at"),
        _time("promoted_at"),
        _time("cancelled_at"),
        sa.Column("cancel_reason", sa.String(40)),
    ),
    "attendance": _model(
        "attendance",
        [_uuid("attendance_id", primary_key=True)],
        _uuid("event_id", index=True),
        _uuid("registration_id"),
        _uuid("person_id"),
        sa.Column("status", sa.String(10)),
        sa.Column("headcount", sa.Integer),
        _time("recorded_at"),
    ),
    "sales": _model(
        "sales",
        [_uuid("sale_id", primary_key=True)],
        _uuid("event_id"),
        _uuid("group_id"),
        _uuid("artwork_id"),
        sa.Column("kind", sa.String(20)),
        sa.Column("quantity", sa.Integer),
        sa.Column("amount_pence", sa.BigInteger),
        sa.Column("artist_share_pence", sa.BigInteger),
        sa.Column("scheme_share_pence", sa.BigInteger),
        _time("recorded_at", index=True),
        _time("voided_at"),
        sa.Column("void_reason", sa.String(40)),
    ),
    "deliveries": _model(
        "deliveries",
        [_uuid("delivery_id", primary_key=True)],
        sa.Column("kind", sa.String(40)),
        sa.Column("channel", sa.String(10)),
        sa.Column("audience", sa.String(20)),
        sa.Column("attempts", sa.Integer),
        _time("sent_at"),
        _time("failed_at"),
        sa.Column("reason", sa.String(40)),
    ),
}


# The event log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedEvent:
    source: str
    event_id: str
    event_type: str
    site: str
    subject: str
    sequence: int
    time: datetime
    envelope: str


def log_events(conn: Connection, events: Sequence[LoggedEvent], received_at: datetime) -> set[tuple[str, str]]:
    """Append the events not yet in the log, in one statement; returns the keys that were new."""
    if not events:
        return set()
    statement = (
        insert_for(conn.dialect.name, event_log)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(event_log.c.source, event_log.c.event_id)
    )
    rows = conn.execute(statement, [{**e.__dict__, "received_at": received_at} for e in events])
    return {(row.source, row.event_id) for row in rows}


def logged(conn: Connection, *, after: int = 0, limit: int = 5000) -> list[tuple[int, str]]:
    """A page of the log in arrival order: (position, envelope JSON)."""
    rows = conn.execute(
        sa.select(event_log.c.position, event_log.c.envelope)
        .where(event_log.c.position > after)
        .order_by(event_log.c.position)
        .limit(limit)
    )
    return [(row.position, row.envelope) for row in rows]


def log_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Events held, by site and type."""
    rows = conn.execute(
        sa.select(event_log.c.site, event_log.c.event_type, sa.func.count()).group_by(
            event_log.c.site, event_log.c.event_type
        )
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for site, event_type, count in rows:
        counts[site][event_type] = int(count)
    return dict(counts)


# Merging upserts -------------------------------------------------------------------------------


def apply(conn: Connection, upserts: Iterable[Upsert]) -> None:
    """Merge upserts into the read models: statements grouped by their shape, sent as batches.

    Upserts of one row within one batch are merged in order first (one statement cannot
    touch a row twice).
    """
    merged: dict[tuple[str, Any], Upsert] = {}
    for upsert in upserts:
        slot = (upsert.model, upsert.key)
        merged[slot] = _merge(merged[slot], upsert) if slot in merged else upsert
    shapes: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for upsert in merged.values():
        shape = (
            upsert.model,
            tuple(sorted(upsert.values)),
            tuple(sorted(upsert.first)),
            tuple(sorted(upsert.latest)),
            tuple(sorted(upsert.add)),
        )
        shapes[shape].append(_row(upsert))
    for (model, values, first, latest, add), rows in shapes.items():
        conn.execute(_statement(conn.dialect.name, model, values, first, latest, add), rows)


def _row(upsert: Upsert) -> dict[str, Any]:
    table = MODELS[upsert.model]
    keys = [c.name for c in table.primary_key.columns]
    key_values = upsert.key if isinstance(upsert.key, tuple) else (upsert.key,)
    return {
        **dict(zip(keys, key_values, strict=True)),
        "site": upsert.site,
        "as_of": upsert.as_of,
        **upsert.values,
        **upsert.first,
        **upsert.latest,
        **upsert.add,
    }


def _merge(older: Upsert, newer: Upsert) -> Upsert:
    """Two upserts of one row, as if applied one after the other."""
    values = dict(older.values)
    newer_wins = newer.as_of >= older.as_of
    for name, value in newer.values.items():
        if value is not None and (newer_wins or values.get(name) is None):
            values[name] = value
    first = {**newer.first, **{k: v for k, v in older.first.items() if v is not None}}
    for name, value in newer.first.items():
        if value is not None and (first.get(name) is None or value < first[name]):
            first[name] = value
    latest = dict(older.latest)
    for name, value in newer.latest.items():
        if value is not None and (latest.get(name) is None or value > latest[name]):
            latest[name] = value
    add = dict(older.add)
    for name, value in newer.add.items():
        add[name] = add.get(name, 0) + value
    return Upsert(older.model, older.key, older.site, max(older.as_of, newer.as_of), values, first, latest, add)


_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _statement(
    dialect: str,
    model: str,
    values: tuple[str, ...],
    first: tuple[str, ...],
    latest: tuple[str, ...],
    add: tuple[str, ...],
) -> Any:
    cache_key = (dialect, model, values, first, latest, add)
    if cache_key in _STATEMENTS:
        return _STATEMENTS[cache_key]
    table = MODELS[model]
    statement = insert_for(dialect, table)
    new = statement.excluded
    newer = new.as_of >= table.c.as_of
    updates: dict[str, Any] = {"as_of": sa.case((newer, new.as_of), else_=table.c.as_of)}
    for name in values:
        # The newer event's value, unless it did not know one.
        updates[name] = sa.case(
            (sa.and_(newer, new[name].is_not(None)), new[name]),
            (table.c[name].is_(None), new[name]),
            else_=table.c[name],
        )
    for name in first:
        updates[name] = sa.case(
            (sa.or_(table.c[name].is_(None), new[name] < table.c[name]), new[name]), else_=table.c[name]
        )
    for name in latest:
        updates[name] = sa.case(
            (sa.or_(table.c[name].is_(None), new[name] > table.c[name]), new[name]), else_=table.c[name]
        )
    for name in add:
        updates[name] = table.c[name] + new[name]
    keys = [c.name for c in table.primary_key.columns]
    built = statement.on_conflict_do_update(index_elements=keys, set_=updates)
    _STATEMENTS[cache_key] = built
    return built


def clear_read_models(conn: Connection) -> None:
    for table in MODELS.values():
        conn.execute(table.delete())


# Reading --------------------------------------------------------------------------------------


def rows(conn: Connection, model: str, *where: Any) -> list[Any]:
    table = MODELS[model]
    return list(conn.execute(sa.select(table).where(*where)))


def model(name: str) -> sa.Table:
    return MODELS[name]


def known_sites(conn: Connection) -> list[str]:
    return sorted(conn.execute(sa.select(event_log.c.site).distinct()).scalars())


def envelope_json(envelope: Any) -> str:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def iter_log(conn_factory: Any, page: int = 5000) -> Iterator[list[tuple[int, str]]]:
    position = 0
    while True:
        with conn_factory() as conn:
            chunk = logged(conn, after=position, limit=page)
        if not chunk:
            return
        position = chunk[-1][0]
        yield chunk
