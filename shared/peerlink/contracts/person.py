"""Person events: what every service must do about a person as a whole (pseudonymous)."""

from marshmallow import Schema, fields

from peerlink.contracts.catalogue import Channel, EventType


class PersonErasedV1(Schema):
    person_id = fields.UUID(required=True)
    erased_at = fields.AwareDateTime(required=True, format="iso")


PERSON_ERASED = EventType(
    aggregate="person",
    verb="erased",
    version=1,
    schema=PersonErasedV1,
    channel=Channel.EVENTS,
    description="The person's right to erasure was exercised: every service erases what it holds of them "
    "and keeps only pseudonymous counts.",
    example={"person_id": "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f", "erased_at": "2027-01-10T09:00:00.000000Z"},
)

TYPES = (PERSON_ERASED,)
