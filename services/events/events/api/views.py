"""Domain objects as the API shows them: times in the event's own zone, personal data only
to those who need it (the door list, the sales table)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from events.domain.attendance import Attendance
from events.domain.guests import Guest
from events.domain.registration import Registration
from events.domain.sales import Artwork, Bid, Lot, Sale
from events.domain.schedule import ArtEvent, Group, Series
from events.domain.timing import local
from events.store.ledger import KindTotal


def group(item: Group) -> dict[str, Any]:
    return {**asdict(item), "facilitators": list(item.facilitators)}


def event(item: ArtEvent) -> dict[str, Any]:
    zone = item.zone
    details = item.details
    return {
        "id": item.id,
        "group_id": item.group_id,
        "series_id": item.series_id,
        "occurrence_start": local(item.occurrence_start, zone) if item.occurrence_start else None,
        "moved": item.moved,
        "kind": details.kind,
        "title_cy": details.title_cy,
        "title_en": details.title_en,
        "description_cy": details.description_cy,
        "description_en": details.description_en,
        "venue": details.venue,
        "starts_at": local(item.starts_at, zone),
        "ends_at": local(item.ends_at, zone),
        "timezone": item.timezone,
        "capacity": details.capacity,
        "public": details.public,
        "drop_in": details.drop_in,
        "status": item.status.value,
        "cancel_reason": item.cancel_reason,
        "cancelled_at": item.cancelled_at,
        "places_confirmed": item.places_confirmed,
        "places_left": item.places_left,
        "waiting": item.waiting,
        "revision": item.revision,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def series(item: Series, occurrences: list[ArtEvent]) -> dict[str, Any]:
    details = item.details
    first = item.first_wall.replace(tzinfo=item.zone)
    return {
        "id": item.id,
        "group_id": item.group_id,
        "kind": details.kind,
        "title_cy": details.title_cy,
        "title_en": details.title_en,
        "venue": details.venue,
        "capacity": details.capacity,
        "public": details.public,
        "drop_in": details.drop_in,
        "rrule": item.rule.text,
        "first_starts_at": first,
        "duration_minutes": int(item.duration.total_seconds() // 60),
        "timezone": item.timezone,
        "horizon_weeks": item.horizon_weeks,
        "scheduled_until": item.scheduled_until,
        "created_at": item.created_at,
        "ended_at": item.ended_at,
        "end_reason": item.end_reason,
        "occurrences": [event(e) for e in occurrences],
    }


def guest(item: Guest) -> dict[str, Any]:
    return {
        "id": item.id,
        "given_name": item.given_name,
        "family_name": item.family_name,
        "email": item.email,
        "phone": item.phone,
        "preferred_language": item.preferred_language,
        "channels": list(item.channels),
        "erased_at": item.erased_at,
    }


def attendance(item: Attendance | None) -> dict[str, Any] | None:
    return asdict(item) if item else None


def registration(
    item: Registration,
    *,
    position: int | None = None,
    guest_details: Guest | None = None,
    personal: bool = False,
    attended: Attendance | None = None,
) -> dict[str, Any]:
    return {
        "id": item.id,
        "event_id": item.event_id,
        "person_id": item.person_id,
        "guest_id": item.guest_id,
        "guest": guest(guest_details) if personal and guest_details else None,
        "mentor_id": item.mentor_id,
        "places": item.places,
        "status": item.status.value,
        "position": position,
        "priority": item.priority,
        "registered_at": item.registered_at,
        "confirmed_at": item.confirmed_at,
        "waitlisted_at": item.waitlisted_at,
        "promoted_at": item.promoted_at,
        "cancelled_at": item.cancelled_at,
        "cancel_reason": item.cancel_reason,
        "attendance": attendance(attended),
    }


def artwork(item: Artwork, *, personal: bool) -> dict[str, Any]:
    return {
        "id": item.id,
        "group_id": item.group_id,
        "artist_person_id": item.artist_person_id,
        "credit": item.credit.value,
        "credit_line_cy": item.credit_line("cy"),
        "credit_line_en": item.credit_line("en"),
        # Shown in the credit line anyway when agreed; the raw fields only to the organisers.
        "artist_name": item.artist_name if personal else None,
        "pseudonym": item.pseudonym,
        "title": item.title,
        "medium": item.medium,
        "artist_share_percent": item.artist_share_percent,
        "print_run": item.print_run,
        "cards_sold": item.cards_sold,
        "cards_left": item.cards_left,
        "status": item.status.value,
        "created_at": item.created_at,
    }


def bid(item: Bid | None) -> dict[str, Any] | None:
    return asdict(item) if item else None


def lot(item: Lot, bids: list[Bid]) -> dict[str, Any]:
    highest = bids[0] if bids else None
    winning = next((b for b in bids if b.id == item.winning_bid_id), None)
    return {
        "id": item.id,
        "event_id": item.event_id,
        "artwork_id": item.artwork_id,
        "number": item.number,
        "reserve_pence": item.reserve_pence,
        "opening_pence": item.opening_pence,
        "status": item.status.value,
        "bids": len(bids),
        "highest_bid_pence": highest.amount_pence if highest else None,
        "reserve_met": highest is not None
        and (item.reserve_pence is None or highest.amount_pence >= item.reserve_pence),
        "created_at": item.created_at,
        "closed_at": item.closed_at,
        "winning_bid": bid(winning),
        "sale_id": item.sale_id,
    }


def sale(item: Sale) -> dict[str, Any]:
    return asdict(item)


def totals(by_kind: list[KindTotal]) -> dict[str, Any]:
    return {
        "sales": sum(k.sales for k in by_kind),
        "amount_pence": sum(k.amount_pence for k in by_kind),
        "artist_share_pence": sum(k.artist_share_pence for k in by_kind),
        "scheme_share_pence": sum(k.scheme_share_pence for k in by_kind),
        "by_kind": [asdict(k) for k in by_kind],
    }


def local_time(moment: datetime, item: ArtEvent) -> datetime:
    return local(moment, item.zone)
