"""The central office's tables: the event log (every event, once) and the read models built
from it, with the one statement that merges a projection's upserts whatever their order."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from peerlink.db import UTCDateTime, insert_for, new_metadata
from reporting.domain.projection import GROUPS, Upsert

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


# An event's version (see ``projection.version_of``): up to 10 + 1 + 27 + 1 + 100 characters.
VERSION_LENGTH = 140


def _model(name: str, key: Sequence[sa.Column[Any]], *columns: sa.Column[Any]) -> sa.Table:
    """A read model: its key, the site, its columns, and the version of each group of them."""
    versions = [sa.Column(version_column(group), sa.String(VERSION_LENGTH)) for group in GROUPS[name]]
    return sa.Table(
        f"rm_{name}",
        metadata,
        *key,
        sa.Column("site", sa.String(40), nullable=False, index=True),
        *columns,
        *versions,
    )


def version_column(group: str) -> str:
    return f"{group}_version"


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
        sa.Column("registered_kind", sa.String(20)),
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


@dataclass
class _Change:
    """What a batch does to one row: each group's values with the version that set them."""

    model: str
    key: Any
    site: str
    groups: dict[str, tuple[str, dict[str, Any]]]
    first: dict[str, Any]
    latest: dict[str, Any]
    add: dict[str, int]

    @classmethod
    def of(cls, upsert: Upsert) -> _Change:
        values = upsert.values
        layout = _layout(upsert.model, tuple(values))
        if len(layout) == 1:  # most events: one group, the upsert's own dict (never changed)
            groups = {layout[0][0]: (upsert.version, values)}
        else:
            groups = {group: (upsert.version, {name: values[name] for name in names}) for group, names in layout}
        return cls(upsert.model, upsert.key, upsert.site, groups, upsert.first, upsert.latest, upsert.add)

    def merge(self, other: _Change) -> None:
        """``other`` after this one, as the database would merge it (in any order)."""
        for group, (version, values) in other.groups.items():
            if group not in self.groups or version > self.groups[group][0]:
                self.groups[group] = (version, values)
        for name, value in other.first.items():
            if value is not None and (self.first.get(name) is None or value < self.first[name]):
                self.first = {**self.first, name: value}
        for name, value in other.latest.items():
            if value is not None and (self.latest.get(name) is None or value > self.latest[name]):
                self.latest = {**self.latest, name: value}
        for name, value in other.add.items():
            self.add = {**self.add, name: self.add.get(name, 0) + value}

    def shape(self) -> tuple[Any, ...]:
        parts = (self.groups, self.first, self.latest, self.add)
        return (self.model, *(tuple(sorted(part)) for part in parts))

    def row(self) -> dict[str, Any]:
        table = MODELS[self.model]
        keys = [c.name for c in table.primary_key.columns]
        key_values = self.key if isinstance(self.key, tuple) else (self.key,)
        row = {**dict(zip(keys, key_values, strict=True)), "site": self.site}
        for group, (version, values) in self.groups.items():
            row.update(values)
            row[version_column(group)] = version
        return {**row, **self.first, **self.latest, **self.add}


_GROUP_OF = {model: {c: g for g, columns in groups.items() for c in columns} for model, groups in GROUPS.items()}


@cache
def _layout(model: str, names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The groups these columns of ``model`` make, checked once for each set of columns: only
    whole groups (half a group would be taken for the whole by the version it carries)."""
    by_group: dict[str, list[str]] = {}
    for name in names:
        group = _GROUP_OF[model].get(name)
        if group is None:
            raise ValueError(f"{model}.{name} is in no group of columns")
        by_group.setdefault(group, []).append(name)
    for group, members in by_group.items():
        if len(members) != len(GROUPS[model][group]):
            missing = sorted(set(GROUPS[model][group]) - set(members))
            raise ValueError(f"an upsert of {model} sets part of {group!r}: not {missing}")
    return tuple((group, tuple(members)) for group, members in by_group.items())


def apply(conn: Connection, upserts: Iterable[Upsert]) -> None:
    """Merge upserts into the read models: statements grouped by their shape, sent as batches.

    Upserts of one row within one batch are merged here first (one statement cannot touch a
    row twice), by the same rules as the statement's.
    """
    changes: dict[tuple[str, Any], _Change] = {}
    for upsert in upserts:
        slot = (upsert.model, upsert.key)
        if slot in changes:
            changes[slot].merge(_Change.of(upsert))
        else:
            changes[slot] = _Change.of(upsert)
    shapes: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for change in changes.values():
        shapes[change.shape()].append(change.row())
    for (model, groups, first, latest, add), rows in shapes.items():
        conn.execute(_statement(conn.dialect.name, model, groups, first, latest, add), rows)


_STATEMENTS: dict[tuple[Any, ...], Any] = {}

# Versions compare byte by byte, as Python compares them: not by a locale's collation.
_BYTEWISE = {"postgresql": "C", "sqlite": "BINARY"}


def _statement(
    dialect: str,
    model: str,
    groups: tuple[str, ...],
    first: tuple[str, ...],
    latest: tuple[str, ...],
    add: tuple[str, ...],
) -> Any:
    cache_key = (dialect, model, groups, first, latest, add)
    if cache_key in _STATEMENTS:
        return _STATEMENTS[cache_key]
    table = MODELS[model]
    statement = insert_for(dialect, table)
    new = statement.excluded
    updates: dict[str, Any] = {}
    for group in groups:
        # The whole group from the newer event. Every expression sees the row as it was
        # before this statement (on SQLite as on PostgreSQL), so the version is compared once.
        version = version_column(group)
        newer = sa.or_(
            table.c[version].is_(None),
            new[version].collate(_BYTEWISE[dialect]) > table.c[version].collate(_BYTEWISE[dialect]),
        )
        for name in (*GROUPS[model][group], version):
            updates[name] = sa.case((newer, new[name]), else_=table.c[name])
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
    # A row with nothing to merge (an event seen before only by its key) still has its insert.
    built = (
        statement.on_conflict_do_update(index_elements=keys, set_=updates)
        if updates
        else statement.on_conflict_do_nothing(index_elements=keys)
    )
    _STATEMENTS[cache_key] = built
    return built


def hold_back_ingestion(conn: Connection) -> None:
    """Until ``conn``'s transaction ends, nobody else logs an event (and so projects one);
    wait first for those logging one now.

    A rebuild needs it: an event logged after the read models were emptied but before the
    rebuild read that part of the log would be projected twice, once by its consumer and
    once by the rebuild; one logged with a place the rebuild had already read past would be
    lost. Every ingesting transaction writes to the log before it projects, so a lock on the
    log that conflicts with writing it (and with another rebuild), not with reading it, is
    the one lock both take: the dashboard and the reports go on reading the old figures.
    SQLite needs nothing: a write transaction there holds the database's one write lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"LOCK TABLE {event_log.name} IN SHARE ROW EXCLUSIVE MODE"))


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
