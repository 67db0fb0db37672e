"""Groups, events and series: rows to domain objects and back, and the event row's counters.

Places are counted on the event row (``places_confirmed``) and every change to an event's
registrations first locks that row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every
write transaction already holds the database's write lock from ``BEGIN IMMEDIATE``), so the
registrations of one event are decided one at a time. The counter is then moved by a
conditional ``UPDATE`` that cannot go past the capacity even if that lock were ever missed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from events.domain.recurrence import Rule, parse_rule
from events.domain.registration import Status
from events.domain.schedule import ArtEvent, Details, EventStatus, Group, Series
from events.store._query import one
from events.store.tables import (
    events,
    group_facilitators,
    groups,
    registrations,
    series,
)

# Groups ----------------------------------------------------------------------------------


def add_group(conn: Connection, group: Group) -> None:
    conn.execute(groups.insert().values(id=group.id, **_group_values(group), created_at=group.created_at))
    _set_facilitators(conn, group)


def save_group(conn: Connection, group: Group) -> None:
    conn.execute(groups.update().where(groups.c.id == group.id).values(**_group_values(group)))
    _set_facilitators(conn, group)


def _group_values(group: Group) -> dict[str, Any]:
    return {
        "name_cy": group.name_cy,
        "name_en": group.name_en,
        "usual_venue": group.usual_venue,
        "accessibility_cy": group.accessibility_cy,
        "accessibility_en": group.accessibility_en,
        "active": group.active,
        "updated_at": group.updated_at,
    }


def _set_facilitators(conn: Connection, group: Group) -> None:
    conn.execute(group_facilitators.delete().where(group_facilitators.c.group_id == group.id))
    if group.facilitators:
        conn.execute(
            group_facilitators.insert(),
            [{"group_id": group.id, "person_id": p, "position": i} for i, p in enumerate(group.facilitators)],
        )


def get_group(conn: Connection, group_id: uuid.UUID, *, for_update: bool = False) -> Group | None:
    row = one(conn, sa.select(groups).where(groups.c.id == group_id), for_update)
    return _groups(conn, [row])[0] if row else None


def list_groups(conn: Connection, *, active: bool | None = None) -> list[Group]:
    query = sa.select(groups).order_by(groups.c.name_en, groups.c.id)
    if active is not None:
        query = query.where(groups.c.active == active)
    return _groups(conn, list(conn.execute(query)))


def _groups(conn: Connection, rows: Sequence[Any]) -> list[Group]:
    ids = [row.id for row in rows]
    people: dict[uuid.UUID, list[uuid.UUID]] = {group_id: [] for group_id in ids}
    if ids:
        for link in conn.execute(
            sa.select(group_facilitators)
            .where(group_facilitators.c.group_id.in_(ids))
            .order_by(group_facilitators.c.position)
        ):
            people[link.group_id].append(link.person_id)
    return [
        Group(
            id=row.id,
            name_cy=row.name_cy,
            name_en=row.name_en,
            usual_venue=row.usual_venue,
            accessibility_cy=row.accessibility_cy,
            accessibility_en=row.accessibility_en,
            facilitators=tuple(people[row.id]),
            active=row.active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def remove_facilitator(conn: Connection, person_id: uuid.UUID) -> int:
    return conn.execute(group_facilitators.delete().where(group_facilitators.c.person_id == person_id)).rowcount


# Events ----------------------------------------------------------------------------------


def add_event(conn: Connection, event: ArtEvent) -> None:
    conn.execute(
        events.insert().values(
            id=event.id,
            group_id=event.group_id,
            series_id=event.series_id,
            occurrence_start=event.occurrence_start,
            kind=event.details.kind,
            queue_counter=0,
            created_at=event.created_at,
            **_event_values(event),
        )
    )


def save_event(conn: Connection, event: ArtEvent) -> None:
    """The event's own fields; its places are moved only by :func:`take_places` / :func:`release_places`."""
    values = _event_values(event)
    values.pop("places_confirmed")
    conn.execute(events.update().where(events.c.id == event.id).values(**values))


def _event_values(event: ArtEvent) -> dict[str, Any]:
    details = event.details
    return {
        "title_cy": details.title_cy,
        "title_en": details.title_en,
        "description_cy": details.description_cy,
        "description_en": details.description_en,
        "venue": details.venue,
        "capacity": details.capacity,
        "public": details.public,
        "drop_in": details.drop_in,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "status": event.status.value,
        "cancel_reason": event.cancel_reason,
        "cancelled_at": event.cancelled_at,
        "places_confirmed": event.places_confirmed,
        "revision": event.revision,
        "updated_at": event.updated_at,
    }


_waiting_count = (
    sa.select(sa.func.count())
    .where(registrations.c.event_id == events.c.id, registrations.c.status == Status.WAITLISTED.value)
    .correlate(events)
    .scalar_subquery()
    .label("waiting")
)


def get_event(conn: Connection, event_id: uuid.UUID, *, for_update: bool = False) -> ArtEvent | None:
    """The event with the length of its waiting list; ``for_update`` locks its row until the
    transaction ends (every change to its registrations takes this lock first) and, to keep
    that moment short, does not count the waiting list (``waiting`` is None)."""
    if for_update:
        row = one(conn, sa.select(events).where(events.c.id == event_id), for_update=True)
        return _event(row, None) if row else None
    row = one(conn, sa.select(events, _waiting_count).where(events.c.id == event_id))
    return _event(row, row.waiting) if row else None


def events_by_id(conn: Connection, ids: Iterable[uuid.UUID]) -> list[ArtEvent]:
    wanted = list(set(ids))
    if not wanted:
        return []
    return [
        _event(row, row.waiting)
        for row in conn.execute(sa.select(events, _waiting_count).where(events.c.id.in_(wanted)))
    ]


def lock_events(conn: Connection, event_ids: Iterable[uuid.UUID]) -> None:
    """Lock several events' rows, always in the same order, so two writers cannot deadlock."""
    for event_id in sorted(set(event_ids)):
        conn.execute(sa.select(events.c.id).where(events.c.id == event_id).with_for_update())


@dataclass(frozen=True)
class EventFilter:
    group_id: uuid.UUID | None = None
    series_id: uuid.UUID | None = None
    kind: str | None = None
    status: str | None = None
    public: bool | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    limit: int = 50
    offset: int = 0


def list_events(conn: Connection, query: EventFilter) -> tuple[list[ArtEvent], int]:
    conditions: list[Any] = []
    if query.group_id is not None:
        conditions.append(events.c.group_id == query.group_id)
    if query.series_id is not None:
        conditions.append(events.c.series_id == query.series_id)
    if query.kind is not None:
        conditions.append(events.c.kind == query.kind)
    if query.status is not None:
        conditions.append(events.c.status == query.status)
    if query.public is not None:
        conditions.append(events.c.public == query.public)
    if query.starts_from is not None:
        conditions.append(events.c.starts_at >= query.starts_from)
    if query.starts_before is not None:
        conditions.append(events.c.starts_at < query.starts_before)
    rows = conn.execute(
        sa.select(events, _waiting_count)
        .where(*conditions)
        .order_by(events.c.starts_at, events.c.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(events).where(*conditions)).scalar_one()
    return [_event(row, row.waiting) for row in rows], int(total)


def events_ending_after(
    conn: Connection,
    moment: datetime,
    *,
    group_id: uuid.UUID | None = None,
    public_only: bool = False,
    limit: int = 500,
) -> list[ArtEvent]:
    """Events still to come or under way after ``moment`` (cancelled ones too), soonest first."""
    query = sa.select(events, _waiting_count).where(events.c.ends_at > moment)
    if group_id is not None:
        query = query.where(events.c.group_id == group_id)
    if public_only:
        query = query.where(events.c.public.is_(True))
    rows = conn.execute(query.order_by(events.c.starts_at, events.c.id).limit(limit))
    return [_event(row, row.waiting) for row in rows]


def take_places(conn: Connection, event_id: uuid.UUID, places: int) -> bool:
    """Count ``places`` as confirmed if they fit; False (nothing changed) if they do not."""
    result = conn.execute(
        events.update()
        .where(
            events.c.id == event_id,
            sa.or_(events.c.capacity.is_(None), events.c.places_confirmed + places <= events.c.capacity),
        )
        .values(places_confirmed=events.c.places_confirmed + places)
    )
    return result.rowcount == 1


def release_places(conn: Connection, event_id: uuid.UUID, places: int) -> None:
    conn.execute(
        events.update().where(events.c.id == event_id).values(places_confirmed=events.c.places_confirmed - places)
    )


def next_queue_number(conn: Connection, event_id: uuid.UUID) -> int:
    return int(
        conn.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(queue_counter=events.c.queue_counter + 1)
            .returning(events.c.queue_counter)
        ).scalar_one()
    )


def occurrence_made(conn: Connection, series_id: uuid.UUID, occurrence_start: datetime) -> bool:
    found = conn.execute(
        sa.select(events.c.id).where(events.c.series_id == series_id, events.c.occurrence_start == occurrence_start)
    ).first()
    return found is not None


def _event(row: Any, waiting: int | None = 0) -> ArtEvent:
    return ArtEvent(
        id=row.id,
        group_id=row.group_id,
        series_id=row.series_id,
        occurrence_start=row.occurrence_start,
        details=Details(
            kind=row.kind,
            title_cy=row.title_cy,
            title_en=row.title_en,
            venue=row.venue,
            description_cy=row.description_cy,
            description_en=row.description_en,
            capacity=row.capacity,
            public=row.public,
            drop_in=row.drop_in,
        ),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=row.timezone,
        status=EventStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        places_confirmed=row.places_confirmed,
        waiting=None if waiting is None else int(waiting),
        revision=row.revision,
        cancel_reason=row.cancel_reason,
        cancelled_at=row.cancelled_at,
    )


# Series ----------------------------------------------------------------------------------


def add_series(conn: Connection, item: Series) -> None:
    details = item.details
    conn.execute(
        series.insert().values(
            id=item.id,
            group_id=item.group_id,
            kind=details.kind,
            title_cy=details.title_cy,
            title_en=details.title_en,
            description_cy=details.description_cy,
            description_en=details.description_en,
            venue=details.venue,
            capacity=details.capacity,
            public=details.public,
            drop_in=details.drop_in,
            rule=item.rule.text,
            first_wall=item.first_wall,
            duration_minutes=int(item.duration.total_seconds() // 60),
            timezone=item.timezone,
            horizon_weeks=item.horizon_weeks,
            scheduled_until=item.scheduled_until,
            created_at=item.created_at,
        )
    )


def save_series(conn: Connection, item: Series) -> None:
    details = item.details
    conn.execute(
        series.update()
        .where(series.c.id == item.id)
        .values(
            title_cy=details.title_cy,
            title_en=details.title_en,
            description_cy=details.description_cy,
            description_en=details.description_en,
            venue=details.venue,
            capacity=details.capacity,
            public=details.public,
            rule=item.rule.text,
            horizon_weeks=item.horizon_weeks,
            scheduled_until=item.scheduled_until,
            ended_at=item.ended_at,
            end_reason=item.end_reason,
        )
    )


def get_series(conn: Connection, series_id: uuid.UUID, *, for_update: bool = False) -> Series | None:
    row = one(conn, sa.select(series).where(series.c.id == series_id), for_update)
    return _series(row) if row else None


def list_series(conn: Connection, *, group_id: uuid.UUID | None = None) -> list[Series]:
    query = sa.select(series).order_by(series.c.created_at, series.c.id)
    if group_id is not None:
        query = query.where(series.c.group_id == group_id)
    return [_series(row) for row in conn.execute(query)]


def series_due(conn: Connection, now: datetime) -> list[uuid.UUID]:
    """Running series whose occurrences have not been made up to their horizon from ``now``."""
    rows = conn.execute(
        sa.select(series.c.id, series.c.horizon_weeks, series.c.scheduled_until).where(series.c.ended_at.is_(None))
    )
    return [
        row.id
        for row in rows
        if row.scheduled_until is None or row.scheduled_until < now + timedelta(weeks=row.horizon_weeks)
    ]


def _series(row: Any) -> Series:
    from zoneinfo import ZoneInfo

    return Series(
        id=row.id,
        group_id=row.group_id,
        details=Details(
            kind=row.kind,
            title_cy=row.title_cy,
            title_en=row.title_en,
            venue=row.venue,
            description_cy=row.description_cy,
            description_en=row.description_en,
            capacity=row.capacity,
            public=row.public,
            drop_in=row.drop_in,
        ),
        rule=_rule(row.rule, row.first_wall, ZoneInfo(row.timezone)),
        first_wall=row.first_wall,
        duration=timedelta(minutes=row.duration_minutes),
        timezone=row.timezone,
        horizon_weeks=row.horizon_weeks,
        scheduled_until=row.scheduled_until,
        created_at=row.created_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )


def _rule(text: str, first_wall: datetime, zone: Any) -> Rule:
    return parse_rule(text, first_wall, zone)
