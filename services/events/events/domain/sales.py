"""The artwork ledger: artworks credited as their artist agreed, auction lots and bids, sales
in integer pence split between the artist and the scheme.

- Credit: the artist's name only with their consent; otherwise a pseudonym or "anonymous".
  The name is personal data: it is shown on the site's own pages and API, never on the wire.
  The artist may change or withdraw their consent at any time; each change is kept (to what,
  when, by whom), never the name itself.
- The split is agreed per artwork (``artist_share_percent``); the artist's share is rounded to
  the nearest penny (a half penny to the artist) and the scheme has the rest, so the two always
  add up to the amount. A sale without an artwork (a donation, a raffle) is all the scheme's.
- Cards are sold by quantity from a print run; the original artwork is sold once.
- A sale counts for the group whose work was sold, whichever group's event sold it
  (:func:`credited_group`).
- An auction lot takes bids, each higher than the last (silent: bidders are paddle numbers),
  until its event ends; closing it sells the artwork to the highest bid if it meets the
  reserve. Cancelling the event withdraws its open lots: no bid there can win any more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from events.domain.schedule import ArtEvent


class Credit(StrEnum):
    NAME = "name"
    PSEUDONYM = "pseudonym"
    ANONYMOUS = "anonymous"


class ArtworkStatus(StrEnum):
    AVAILABLE = "available"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"


class LotStatus(StrEnum):
    OPEN = "open"
    SOLD = "sold"
    UNSOLD = "unsold"
    WITHDRAWN = "withdrawn"


ANONYMOUS = {"cy": "Artist dienw", "en": "Anonymous artist"}
MAX_SALE_PENCE = 100_000_000  # a million pounds in one sale is a typing slip
SINGLE_ITEM_KINDS = ("auction-lot", "artwork", "live-painting", "donation")


class SaleRefused(Exception):
    """Not possible in the state things are in (409)."""


class InvalidSale(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Artwork:
    id: uuid.UUID
    group_id: uuid.UUID | None
    artist_person_id: uuid.UUID | None
    credit: Credit
    artist_name: str | None  # shown only with credit "name"; personal, never on the wire
    pseudonym: str | None
    title: str
    medium: str | None
    artist_share_percent: int
    print_run: int | None  # cards printed of this design
    cards_sold: int
    status: ArtworkStatus
    created_at: datetime
    consent_recorded_at: datetime | None = None

    def credit_line(self, language: str) -> str:
        if self.credit is Credit.NAME and self.artist_name:
            return self.artist_name
        if self.credit is Credit.PSEUDONYM and self.pseudonym:
            return self.pseudonym
        return ANONYMOUS[language]

    @property
    def cards_left(self) -> int | None:
        return None if self.print_run is None else self.print_run - self.cards_sold


def new_artwork(
    *,
    group_id: uuid.UUID | None,
    artist_person_id: uuid.UUID | None,
    credit: str,
    artist_name: str | None,
    pseudonym: str | None,
    title: str,
    medium: str | None,
    artist_share_percent: int,
    print_run: int | None,
    now: datetime,
) -> Artwork:
    chosen, name, alias = _agreed(credit, artist_name, pseudonym)
    return Artwork(
        id=uuid.uuid4(),
        group_id=group_id,
        artist_person_id=artist_person_id,
        credit=chosen,
        artist_name=name,
        pseudonym=alias,
        title=title,
        medium=medium,
        artist_share_percent=artist_share_percent,
        print_run=print_run,
        cards_sold=0,
        status=ArtworkStatus.AVAILABLE,
        created_at=now,
        consent_recorded_at=now if chosen is Credit.NAME else None,
    )


def _agreed(credit: str, artist_name: str | None, pseudonym: str | None) -> tuple[Credit, str | None, str | None]:
    """The credit and what it shows. Only what the chosen credit shows is kept: a name not
    agreed to is not stored at all, and one whose consent is withdrawn is not kept either."""
    chosen = Credit(credit)
    if chosen is Credit.NAME and not artist_name:
        raise InvalidSale("Credit by name needs the name the artist agreed to show.", "artist_name")
    if chosen is Credit.PSEUDONYM and not pseudonym:
        raise InvalidSale("Credit by pseudonym needs the pseudonym.", "pseudonym")
    return (
        chosen,
        artist_name if chosen is Credit.NAME else None,
        pseudonym if chosen is Credit.PSEUDONYM else None,
    )


def change_credit(
    artwork: Artwork, *, credit: str, artist_name: str | None, pseudonym: str | None, now: datetime
) -> Artwork | None:
    """The artist changed or withdrew their consent: the work is credited as they now agree,
    whether it is for sale, sold or withdrawn (a label, a catalogue, a page may still show it).
    Withdrawing consent to the name forgets the name. None if nothing changes."""
    chosen, name, alias = _agreed(credit, artist_name, pseudonym)
    if (chosen, name, alias) == (artwork.credit, artwork.artist_name, artwork.pseudonym):
        return None
    return replace(
        artwork,
        credit=chosen,
        artist_name=name,
        pseudonym=alias,
        consent_recorded_at=now if chosen is Credit.NAME else None,
    )


@dataclass(frozen=True)
class CreditChange:
    """A change of an artwork's credit (its first credit too): to what, when, by whom. Never the
    name itself, which lives only on the artwork while consent to show it lasts."""

    id: uuid.UUID
    artwork_id: uuid.UUID
    credit: Credit
    changed_at: datetime
    changed_by: str  # the token's label, or the message that made the change
    role: str


def credit_change(artwork: Artwork, *, changed_by: str, role: str, now: datetime) -> CreditChange:
    return CreditChange(uuid.uuid4(), artwork.id, artwork.credit, now, changed_by[:100], role[:20])


def erase_artist(artwork: Artwork) -> Artwork:
    """The artist exercised their right to erasure: their name, pseudonym and link go; the work
    is credited anonymously; an unsold work is withdrawn (its share could no longer be paid)."""
    return replace(
        artwork,
        artist_person_id=None,
        artist_name=None,
        pseudonym=None,
        credit=Credit.ANONYMOUS,
        consent_recorded_at=None,
        status=ArtworkStatus.WITHDRAWN if artwork.status is ArtworkStatus.AVAILABLE else artwork.status,
    )


def split(amount_pence: int, artist_share_percent: int) -> tuple[int, int]:
    """(artist, scheme) in pence: the artist's share rounded half up, the scheme the rest."""
    artist = (amount_pence * artist_share_percent + 50) // 100
    return artist, amount_pence - artist


@dataclass(frozen=True)
class Sale:
    id: uuid.UUID
    event_id: uuid.UUID
    group_id: uuid.UUID | None
    artwork_id: uuid.UUID | None
    lot_id: uuid.UUID | None
    kind: str
    quantity: int
    unit_price_pence: int
    amount_pence: int
    artist_share_pence: int
    scheme_share_pence: int
    recorded_at: datetime
    voided_at: datetime | None = None
    void_reason: str | None = None


def check_sale(*, kind: str, quantity: int, with_artwork: bool, by_closing_a_lot: bool = False) -> None:
    """What a sale of this kind must say, before anything is looked up."""
    if kind == "auction-lot" and not by_closing_a_lot:
        raise InvalidSale("An auction lot is sold by closing the lot (POST .../lots/{id}/close).", "kind")
    if kind in SINGLE_ITEM_KINDS and quantity != 1:
        raise InvalidSale(f"A {kind} sale is of one item.", "quantity")
    if kind == "donation" and with_artwork:
        raise InvalidSale("A donation is not for an artwork.", "artwork_id")
    if kind in ("artwork", "auction-lot") and not with_artwork:
        raise InvalidSale(f"A {kind} sale names its artwork.", "artwork_id")


def credited_group(event: ArtEvent, artwork: Artwork | None) -> uuid.UUID | None:
    """The group a sale counts for: the group whose artwork (or card design) was sold, wherever
    it was sold; the event's group for a sale of no group's work (a donation, a raffle, a work
    without a group). A joint exhibition or a card stall run by one group for all three thus
    credits each group with its own artists' work, and each sale still counts for exactly one
    group, so the groups' totals add up to the events' totals (one ``group_id`` per
    ``sale.recorded``: splitting a sale between two groups could not be said on the wire)."""
    if artwork is not None and artwork.group_id is not None:
        return artwork.group_id
    return event.group_id


def sell(
    event: ArtEvent,
    *,
    kind: str,
    quantity: int,
    unit_price_pence: int,
    artwork: Artwork | None,
    now: datetime,
    lot_id: uuid.UUID | None = None,
) -> tuple[Sale, Artwork | None]:
    """A sale at ``event``; returns it and the artwork as it is after the sale."""
    check_sale(kind=kind, quantity=quantity, with_artwork=artwork is not None, by_closing_a_lot=lot_id is not None)
    if event.is_cancelled:
        raise SaleRefused("The event was cancelled.")
    sold = artwork
    if artwork is not None:
        if kind == "cards":
            if artwork.cards_left is not None and quantity > artwork.cards_left:
                raise SaleRefused(f"Only {artwork.cards_left} cards of this design are left of the print run.")
            sold = replace(artwork, cards_sold=artwork.cards_sold + quantity)
        else:
            if artwork.status is not ArtworkStatus.AVAILABLE:
                raise SaleRefused(f"The artwork is {artwork.status}.")
            sold = replace(artwork, status=ArtworkStatus.SOLD)
    amount = quantity * unit_price_pence
    if amount > MAX_SALE_PENCE:
        raise InvalidSale(f"A sale of more than {MAX_SALE_PENCE // 100:,} pounds is surely a typing slip.", "quantity")
    artist, scheme = split(amount, artwork.artist_share_percent if artwork is not None else 0)
    sale = Sale(
        id=uuid.uuid4(),
        event_id=event.id,
        group_id=credited_group(event, artwork),
        artwork_id=artwork.id if artwork is not None else None,
        lot_id=lot_id,
        kind=kind,
        quantity=quantity,
        unit_price_pence=unit_price_pence,
        amount_pence=amount,
        artist_share_pence=artist,
        scheme_share_pence=scheme,
        recorded_at=now,
    )
    return sale, sold


def void(sale: Sale, *, reason: str, artwork: Artwork | None, now: datetime) -> tuple[Sale, Artwork | None]:
    """Take a sale back (entered in error, refunded): the cards go back to the print run, the
    artwork is for sale again. Its amounts leave the totals; the record stays."""
    if sale.voided_at is not None:
        raise SaleRefused("The sale was already voided.")
    restored = artwork
    if artwork is not None:
        if sale.kind == "cards":
            restored = replace(artwork, cards_sold=max(0, artwork.cards_sold - sale.quantity))
        elif artwork.status is ArtworkStatus.SOLD:
            restored = replace(artwork, status=ArtworkStatus.AVAILABLE)
    return replace(sale, voided_at=now, void_reason=reason), restored


# Auction lots -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lot:
    id: uuid.UUID
    event_id: uuid.UUID
    artwork_id: uuid.UUID
    number: int
    reserve_pence: int | None
    opening_pence: int | None
    status: LotStatus
    created_at: datetime
    closed_at: datetime | None = None
    winning_bid_id: uuid.UUID | None = None
    sale_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Bid:
    id: uuid.UUID
    lot_id: uuid.UUID
    amount_pence: int
    paddle: str
    placed_at: datetime


def check_bidding_open(event: ArtEvent, now: datetime) -> None:
    """Lots are offered and bid on until the auction ends; a cancelled one took its lots back."""
    if event.is_cancelled:
        raise SaleRefused("The event was cancelled: its lots were withdrawn.")
    if now >= event.ends_at:
        raise SaleRefused("The auction has ended: no more lots or bids (close the lots still open).")


def new_lot(
    event: ArtEvent,
    artwork: Artwork,
    *,
    number: int,
    reserve_pence: int | None,
    opening_pence: int | None,
    open_lot_of_artwork: Lot | None,
    now: datetime,
) -> Lot:
    check_bidding_open(event, now)
    if artwork.status is not ArtworkStatus.AVAILABLE:
        raise SaleRefused(f"The artwork is {artwork.status}.")
    if open_lot_of_artwork is not None:
        raise SaleRefused(f"The artwork is already lot {open_lot_of_artwork.number} of an open auction.")
    if reserve_pence is not None and opening_pence is not None and opening_pence > reserve_pence:
        raise InvalidSale("The opening bid cannot be above the reserve.", "opening_pence")
    return Lot(uuid.uuid4(), event.id, artwork.id, number, reserve_pence, opening_pence, LotStatus.OPEN, now)


def place_bid(event: ArtEvent, lot: Lot, highest: Bid | None, *, amount_pence: int, paddle: str, now: datetime) -> Bid:
    check_bidding_open(event, now)
    if lot.status is not LotStatus.OPEN:
        raise SaleRefused(f"Lot {lot.number} is closed ({lot.status}).")
    if lot.opening_pence is not None and amount_pence < lot.opening_pence:
        raise InvalidSale(f"The opening bid is {lot.opening_pence} pence.", "amount_pence")
    if highest is not None and amount_pence <= highest.amount_pence:
        raise InvalidSale(f"A bid must beat the highest so far ({highest.amount_pence} pence).", "amount_pence")
    return Bid(uuid.uuid4(), lot.id, amount_pence, paddle, now)


def withdraw(lot: Lot, now: datetime) -> Lot:
    """Take an open lot back unsold (its event was cancelled, its artist erased): no bid wins,
    the artwork is as it was."""
    return replace(lot, status=LotStatus.WITHDRAWN, closed_at=now)


def close_lot(lot: Lot, highest: Bid | None, now: datetime) -> tuple[Lot, Bid | None]:
    """The lot closed: sold to ``highest`` if it met the reserve (the returned bid), else unsold."""
    if lot.status is not LotStatus.OPEN:
        raise SaleRefused(f"Lot {lot.number} is already closed ({lot.status}).")
    met = highest is not None and (lot.reserve_pence is None or highest.amount_pence >= lot.reserve_pence)
    won = highest if met else None
    closed = replace(
        lot,
        status=LotStatus.SOLD if won else LotStatus.UNSOLD,
        closed_at=now,
        winning_bid_id=won.id if won else None,
    )
    return closed, won
