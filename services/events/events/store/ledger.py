"""Artworks, auction lots, bids and sales: rows to domain objects and back, and the totals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from events.domain.sales import Artwork, ArtworkStatus, Bid, Credit, CreditChange, Lot, LotStatus, Sale
from events.store._query import one
from events.store.tables import (
    artworks,
    bids,
    credit_changes,
    lots,
    sales,
)

# Artworks, lots, bids, sales -----------------------------------------------------------------


def add_artwork(conn: Connection, artwork: Artwork) -> None:
    conn.execute(
        artworks.insert().values(
            id=artwork.id,
            group_id=artwork.group_id,
            title=artwork.title,
            medium=artwork.medium,
            artist_share_percent=artwork.artist_share_percent,
            print_run=artwork.print_run,
            created_at=artwork.created_at,
            **_artwork_values(artwork),
        )
    )


def save_artwork(conn: Connection, artwork: Artwork) -> None:
    conn.execute(artworks.update().where(artworks.c.id == artwork.id).values(**_artwork_values(artwork)))


def _artwork_values(artwork: Artwork) -> dict[str, Any]:
    return {
        "artist_person_id": artwork.artist_person_id,
        "credit": artwork.credit.value,
        "artist_name": artwork.artist_name,
        "pseudonym": artwork.pseudonym,
        "cards_sold": artwork.cards_sold,
        "status": artwork.status.value,
        "consent_recorded_at": artwork.consent_recorded_at,
    }


def get_artwork(conn: Connection, artwork_id: uuid.UUID, *, for_update: bool = False) -> Artwork | None:
    row = one(conn, sa.select(artworks).where(artworks.c.id == artwork_id), for_update)
    return _artwork(row) if row else None


def list_artworks(conn: Connection, *, group_id: uuid.UUID | None = None, status: str | None = None) -> list[Artwork]:
    query = sa.select(artworks).order_by(artworks.c.created_at, artworks.c.id)
    if group_id is not None:
        query = query.where(artworks.c.group_id == group_id)
    if status is not None:
        query = query.where(artworks.c.status == status)
    return [_artwork(row) for row in conn.execute(query)]


def artwork_ids_of_artist(conn: Connection, person_id: uuid.UUID) -> list[uuid.UUID]:
    return list(conn.execute(sa.select(artworks.c.id).where(artworks.c.artist_person_id == person_id)).scalars())


def artworks_of_artist(conn: Connection, person_id: uuid.UUID) -> list[Artwork]:
    """The artist's works, locked."""
    rows = conn.execute(
        sa.select(artworks).where(artworks.c.artist_person_id == person_id).order_by(artworks.c.id).with_for_update()
    )
    return [_artwork(row) for row in rows]


def _artwork(row: Any) -> Artwork:
    return Artwork(
        id=row.id,
        group_id=row.group_id,
        artist_person_id=row.artist_person_id,
        credit=Credit(row.credit),
        artist_name=row.artist_name,
        pseudonym=row.pseudonym,
        title=row.title,
        medium=row.medium,
        artist_share_percent=row.artist_share_percent,
        print_run=row.print_run,
        cards_sold=row.cards_sold,
        status=ArtworkStatus(row.status),
        created_at=row.created_at,
        consent_recorded_at=row.consent_recorded_at,
    )


def add_credit_change(conn: Connection, change: CreditChange) -> None:
    conn.execute(
        credit_changes.insert().values(
            id=change.id,
            artwork_id=change.artwork_id,
            credit=change.credit.value,
            changed_at=change.changed_at,
            changed_by=change.changed_by,
            role=change.role,
        )
    )


def credit_history(conn: Connection, artwork_id: uuid.UUID) -> list[CreditChange]:
    rows = conn.execute(
        sa.select(credit_changes)
        .where(credit_changes.c.artwork_id == artwork_id)
        .order_by(credit_changes.c.changed_at, credit_changes.c.id)
    )
    return [
        CreditChange(row.id, row.artwork_id, Credit(row.credit), row.changed_at, row.changed_by, row.role)
        for row in rows
    ]


def add_lot(conn: Connection, lot: Lot) -> None:
    conn.execute(
        lots.insert().values(
            id=lot.id,
            event_id=lot.event_id,
            artwork_id=lot.artwork_id,
            number=lot.number,
            reserve_pence=lot.reserve_pence,
            opening_pence=lot.opening_pence,
            created_at=lot.created_at,
            **_lot_values(lot),
        )
    )


def save_lot(conn: Connection, lot: Lot) -> None:
    conn.execute(lots.update().where(lots.c.id == lot.id).values(**_lot_values(lot)))


def _lot_values(lot: Lot) -> dict[str, Any]:
    return {
        "status": lot.status.value,
        "closed_at": lot.closed_at,
        "winning_bid_id": lot.winning_bid_id,
        "sale_id": lot.sale_id,
    }


def get_lot(conn: Connection, event_id: uuid.UUID, lot_id: uuid.UUID, *, for_update: bool = False) -> Lot | None:
    row = one(conn, sa.select(lots).where(lots.c.id == lot_id, lots.c.event_id == event_id), for_update)
    return _lot(row) if row else None


def lots_of_event(conn: Connection, event_id: uuid.UUID) -> list[Lot]:
    return [
        _lot(row) for row in conn.execute(sa.select(lots).where(lots.c.event_id == event_id).order_by(lots.c.number))
    ]


def open_lot_of_artwork(conn: Connection, artwork_id: uuid.UUID) -> Lot | None:
    row = one(conn, sa.select(lots).where(lots.c.artwork_id == artwork_id, lots.c.status == LotStatus.OPEN.value))
    return _lot(row) if row else None


def open_lots_of_event(conn: Connection, event_id: uuid.UUID) -> list[Lot]:
    """The event's open lots, locked."""
    rows = conn.execute(
        sa.select(lots)
        .where(lots.c.event_id == event_id, lots.c.status == LotStatus.OPEN.value)
        .order_by(lots.c.id)
        .with_for_update()
    )
    return [_lot(row) for row in rows]


def open_lots_of_artworks(conn: Connection, artwork_ids: Sequence[uuid.UUID]) -> list[Lot]:
    """The open lots of these artworks, locked."""
    if not artwork_ids:
        return []
    rows = conn.execute(
        sa.select(lots)
        .where(lots.c.artwork_id.in_(list(artwork_ids)), lots.c.status == LotStatus.OPEN.value)
        .order_by(lots.c.id)
        .with_for_update()
    )
    return [_lot(row) for row in rows]


def next_lot_number(conn: Connection, event_id: uuid.UUID) -> int:
    return (
        int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(lots.c.number), 0)).where(lots.c.event_id == event_id)
            ).scalar_one()
        )
        + 1
    )


def _lot(row: Any) -> Lot:
    return Lot(
        id=row.id,
        event_id=row.event_id,
        artwork_id=row.artwork_id,
        number=row.number,
        reserve_pence=row.reserve_pence,
        opening_pence=row.opening_pence,
        status=LotStatus(row.status),
        created_at=row.created_at,
        closed_at=row.closed_at,
        winning_bid_id=row.winning_bid_id,
        sale_id=row.sale_id,
    )


def add_bid(conn: Connection, bid: Bid, *, idempotency: tuple[str, str] | None = None) -> None:
    key, fingerprint = idempotency or (None, None)
    conn.execute(
        bids.insert().values(
            id=bid.id,
            lot_id=bid.lot_id,
            amount_pence=bid.amount_pence,
            paddle=bid.paddle,
            placed_at=bid.placed_at,
            idempotency_key=key,
            request_fingerprint=fingerprint,
        )
    )


def highest_bid(conn: Connection, lot_id: uuid.UUID) -> Bid | None:
    row = one(conn, sa.select(bids).where(bids.c.lot_id == lot_id).order_by(bids.c.amount_pence.desc()).limit(1))
    return _bid(row) if row else None


def bids_of_lot(conn: Connection, lot_id: uuid.UUID) -> list[Bid]:
    rows = conn.execute(sa.select(bids).where(bids.c.lot_id == lot_id).order_by(bids.c.amount_pence.desc()))
    return [_bid(row) for row in rows]


def bid_for_key(conn: Connection, key: str) -> tuple[Bid, str] | None:
    row = one(conn, sa.select(bids).where(bids.c.idempotency_key == key))
    return (_bid(row), row.request_fingerprint) if row else None


def _bid(row: Any) -> Bid:
    return Bid(row.id, row.lot_id, row.amount_pence, row.paddle, row.placed_at)


def add_sale(conn: Connection, sale: Sale, *, idempotency: tuple[str, str] | None = None) -> None:
    key, fingerprint = idempotency or (None, None)
    conn.execute(
        sales.insert().values(
            id=sale.id,
            event_id=sale.event_id,
            group_id=sale.group_id,
            artwork_id=sale.artwork_id,
            lot_id=sale.lot_id,
            kind=sale.kind,
            quantity=sale.quantity,
            unit_price_pence=sale.unit_price_pence,
            amount_pence=sale.amount_pence,
            artist_share_pence=sale.artist_share_pence,
            scheme_share_pence=sale.scheme_share_pence,
            recorded_at=sale.recorded_at,
            idempotency_key=key,
            request_fingerprint=fingerprint,
        )
    )


def save_sale(conn: Connection, sale: Sale) -> None:
    conn.execute(
        sales.update().where(sales.c.id == sale.id).values(voided_at=sale.voided_at, void_reason=sale.void_reason)
    )


def get_sale(conn: Connection, event_id: uuid.UUID, sale_id: uuid.UUID, *, for_update: bool = False) -> Sale | None:
    row = one(conn, sa.select(sales).where(sales.c.id == sale_id, sales.c.event_id == event_id), for_update)
    return _sale(row) if row else None


def sale_for_key(conn: Connection, key: str) -> tuple[Sale, str] | None:
    row = one(conn, sa.select(sales).where(sales.c.idempotency_key == key))
    return (_sale(row), row.request_fingerprint) if row else None


def sales_of_event(conn: Connection, event_id: uuid.UUID) -> list[Sale]:
    rows = conn.execute(sa.select(sales).where(sales.c.event_id == event_id).order_by(sales.c.recorded_at, sales.c.id))
    return [_sale(row) for row in rows]


@dataclass(frozen=True)
class KindTotal:
    kind: str
    sales: int
    quantity: int
    amount_pence: int
    artist_share_pence: int
    scheme_share_pence: int


def sale_totals(
    conn: Connection,
    *,
    event_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    recorded_from: datetime | None = None,
    recorded_before: datetime | None = None,
) -> list[KindTotal]:
    """Totals of the sales that stand (voided ones left out), by kind, summed by the database."""
    conditions: list[Any] = [sales.c.voided_at.is_(None)]
    if event_id is not None:
        conditions.append(sales.c.event_id == event_id)
    if group_id is not None:
        conditions.append(sales.c.group_id == group_id)
    if recorded_from is not None:
        conditions.append(sales.c.recorded_at >= recorded_from)
    if recorded_before is not None:
        conditions.append(sales.c.recorded_at < recorded_before)
    rows = conn.execute(
        sa.select(
            sales.c.kind,
            sa.func.count().label("sales"),
            sa.func.sum(sales.c.quantity).label("quantity"),
            sa.func.sum(sales.c.amount_pence).label("amount"),
            sa.func.sum(sales.c.artist_share_pence).label("artist"),
            sa.func.sum(sales.c.scheme_share_pence).label("scheme"),
        )
        .where(*conditions)
        .group_by(sales.c.kind)
        .order_by(sales.c.kind)
    )
    return [
        KindTotal(row.kind, int(row.sales), int(row.quantity), int(row.amount), int(row.artist), int(row.scheme))
        for row in rows
    ]


def sale_totals_by_event(
    conn: Connection,
    group_id: uuid.UUID,
    *,
    recorded_from: datetime | None = None,
    recorded_before: datetime | None = None,
) -> dict[uuid.UUID, tuple[int, int, int, int]]:
    """Per event of the group: (sales, amount, artist's share, scheme's share)."""
    conditions: list[Any] = [sales.c.group_id == group_id, sales.c.voided_at.is_(None)]
    if recorded_from is not None:
        conditions.append(sales.c.recorded_at >= recorded_from)
    if recorded_before is not None:
        conditions.append(sales.c.recorded_at < recorded_before)
    rows = conn.execute(
        sa.select(
            sales.c.event_id,
            sa.func.count().label("sales"),
            sa.func.sum(sales.c.amount_pence).label("amount"),
            sa.func.sum(sales.c.artist_share_pence).label("artist"),
            sa.func.sum(sales.c.scheme_share_pence).label("scheme"),
        )
        .where(*conditions)
        .group_by(sales.c.event_id)
    )
    return {row.event_id: (int(row.sales), int(row.amount), int(row.artist), int(row.scheme)) for row in rows}


def _sale(row: Any) -> Sale:
    return Sale(
        id=row.id,
        event_id=row.event_id,
        group_id=row.group_id,
        artwork_id=row.artwork_id,
        lot_id=row.lot_id,
        kind=row.kind,
        quantity=row.quantity,
        unit_price_pence=row.unit_price_pence,
        amount_pence=row.amount_pence,
        artist_share_pence=row.artist_share_pence,
        scheme_share_pence=row.scheme_share_pence,
        recorded_at=row.recorded_at,
        voided_at=row.voided_at,
        void_reason=row.void_reason,
    )
