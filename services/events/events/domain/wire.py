"""The data of every event the events service emits.

On ``peerlink.events`` (forwarded to the central office): ids, codes, counts, amounts and
times only. Titles and venues are public facts about an event. Names and emails of guests
travel only in ``guest-contact.recorded`` on ``peerlink.private``; an artist's name never
leaves the service at all.
"""

from __future__ import annotations

from typing import Any

from events.domain.attendance import Attendance
from events.domain.guests import Guest
from events.domain.registration import Registration
from events.domain.sales import Sale
from events.domain.schedule import ArtEvent


def _event(event: ArtEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "group_id": event.group_id,
        "series_id": event.series_id,
        "kind": event.details.kind,
        "starts_at": event.starts_at,
    }


def _schedule(event: ArtEvent) -> dict[str, Any]:
    return {
        **_event(event),
        "title_cy": event.details.title_cy,
        "title_en": event.details.title_en,
        "venue": event.details.venue,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "capacity": event.details.capacity,
        "public": event.details.public,
    }


def scheduled(event: ArtEvent) -> dict[str, Any]:
    return {**_schedule(event), "scheduled_at": event.created_at}


def changed(event: ArtEvent, what: tuple[str, ...]) -> dict[str, Any]:
    return {**_schedule(event), "changed": list(what), "changed_at": event.updated_at}


def cancelled(event: ArtEvent) -> dict[str, Any]:
    return {**_event(event), "reason": event.cancel_reason, "cancelled_at": event.cancelled_at}


def _registration(registration: Registration, event: ArtEvent) -> dict[str, Any]:
    return {
        "registration_id": registration.id,
        "event_id": registration.event_id,
        "person_id": registration.person_id,
        "guest_id": registration.guest_id,
        "mentor_id": registration.mentor_id,
        "places": registration.places,
        "starts_at": event.starts_at,
    }


def registration_confirmed(registration: Registration, event: ArtEvent) -> dict[str, Any]:
    return {**_registration(registration, event), "confirmed_at": registration.confirmed_at}


def registration_waitlisted(registration: Registration, event: ArtEvent, position: int) -> dict[str, Any]:
    return {**_registration(registration, event), "position": position, "waitlisted_at": registration.waitlisted_at}


def registration_promoted(registration: Registration, event: ArtEvent) -> dict[str, Any]:
    return {**_registration(registration, event), "promoted_at": registration.promoted_at}


def registration_cancelled(registration: Registration, event: ArtEvent) -> dict[str, Any]:
    return {
        **_registration(registration, event),
        "was": str(registration.was),
        "reason": registration.cancel_reason,
        "cancelled_at": registration.cancelled_at,
    }


def attendance_recorded(attendance: Attendance) -> dict[str, Any]:
    return {
        "attendance_id": attendance.id,
        "event_id": attendance.event_id,
        "registration_id": attendance.registration_id,
        "person_id": attendance.person_id,
        "status": attendance.status,
        "headcount": attendance.headcount,
        "recorded_at": attendance.recorded_at,
    }


def _sale(sale: Sale) -> dict[str, Any]:
    return {
        "sale_id": sale.id,
        "event_id": sale.event_id,
        "group_id": sale.group_id,
        "artwork_id": sale.artwork_id,
        "kind": sale.kind,
        "quantity": sale.quantity,
        "amount_pence": sale.amount_pence,
        "artist_share_pence": sale.artist_share_pence,
        "scheme_share_pence": sale.scheme_share_pence,
    }


def sale_recorded(sale: Sale) -> dict[str, Any]:
    return {**_sale(sale), "recorded_at": sale.recorded_at}


def sale_voided(sale: Sale) -> dict[str, Any]:
    return {**_sale(sale), "reason": sale.void_reason, "voided_at": sale.voided_at}


def guest_contact(guest: Guest) -> dict[str, Any]:
    return {
        "guest_id": guest.id,
        "given_name": guest.given_name,
        "family_name": guest.family_name,
        "email": guest.email,
        "phone": guest.phone,
        "preferred_language": guest.preferred_language,
        "channels": list(guest.channels),
        "safe_to_text": guest.safe_to_text,
    }
