"""Registrations for events, published by the events service (pseudonymous).

A participant registers by ``person_id``; a public guest by a ``guest_id`` whose name and
email travel only on ``peerlink.private`` (``guest-contact.recorded``). Exactly one of the
two is set. ``starts_at`` lets a consumer (reminders) act without waiting for the event's
own message. A participant may be booked together with their peer mentor: ``mentor_id``
(matching's id) rides on the participant's registration and is counted in its ``places``.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import REGISTRATION_CANCEL_REASONS

_REGISTRATION = "f6a7b8c9-d0e1-4f2a-9b3c-4d5e6f7a8b9c"
_EVENT = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
_PERSON = "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f"


class _Registration(Schema):
    registration_id = fields.UUID(required=True)
    event_id = fields.UUID(required=True)
    person_id = fields.UUID(allow_none=True, load_default=None)
    guest_id = fields.UUID(allow_none=True, load_default=None)
    places = fields.Integer(load_default=1, validate=validate.Range(min=1, max=20))
    starts_at = fields.AwareDateTime(required=True, format="iso")
    mentor_id = fields.UUID(
        allow_none=True,
        load_default=None,
        metadata={"description": "The participant's peer mentor, booked on the same registration (counted in places)."},
    )

    @validates_schema
    def _one_registrant(self, data: dict[str, object], **kwargs: object) -> None:
        if (data.get("person_id") is None) == (data.get("guest_id") is None):
            raise ValidationError("Exactly one of person_id and guest_id is set.", "person_id")


class RegistrationConfirmedV1(_Registration):
    confirmed_at = fields.AwareDateTime(required=True, format="iso")


class RegistrationWaitlistedV1(_Registration):
    position = fields.Integer(required=True, validate=validate.Range(min=1))
    waitlisted_at = fields.AwareDateTime(required=True, format="iso")


class RegistrationPromotedV1(_Registration):
    promoted_at = fields.AwareDateTime(required=True, format="iso")


class RegistrationCancelledV1(_Registration):
    was = fields.String(required=True, validate=validate.OneOf(("confirmed", "waitlisted")))
    reason = fields.String(required=True, validate=validate.OneOf(REGISTRATION_CANCEL_REASONS))
    cancelled_at = fields.AwareDateTime(required=True, format="iso")


_IDS = {
    "registration_id": _REGISTRATION,
    "event_id": _EVENT,
    "person_id": _PERSON,
    "guest_id": None,
    "places": 1,
    "starts_at": "2026-12-01T10:00:00Z",
}


def _registration_event(verb: str, schema: type[Schema], description: str, example: dict[str, object]) -> EventType:
    return EventType(
        aggregate="registration",
        verb=verb,
        version=1,
        schema=schema,
        channel=Channel.EVENTS,
        description=description,
        example={**_IDS, **example},
    )


REGISTRATION_CONFIRMED = _registration_event(
    "confirmed",
    RegistrationConfirmedV1,
    "A participant or guest has a place at an event.",
    {"confirmed_at": "2026-11-20T09:00:00Z"},
)
REGISTRATION_WAITLISTED = _registration_event(
    "waitlisted",
    RegistrationWaitlistedV1,
    "The event was full: the registration waits at `position` on its waiting list.",
    {"position": 3, "waitlisted_at": "2026-11-20T09:00:00Z"},
)
REGISTRATION_PROMOTED = _registration_event(
    "promoted",
    RegistrationPromotedV1,
    "A place came free and the registration moved from the waiting list to confirmed.",
    {"promoted_at": "2026-11-22T09:00:00Z"},
)
REGISTRATION_CANCELLED = _registration_event(
    "cancelled",
    RegistrationCancelledV1,
    "A registration (confirmed or waiting) was cancelled.",
    {"was": "confirmed", "reason": "by-participant", "cancelled_at": "2026-11-25T09:00:00Z"},
)

TYPES = (REGISTRATION_CONFIRMED, REGISTRATION_WAITLISTED, REGISTRATION_PROMOTED, REGISTRATION_CANCELLED)
