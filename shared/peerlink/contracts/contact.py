"""Contact details: site-local, personal, only ever on ``peerlink.private``."""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import CONTACT_CHANNELS, LANGUAGES


class ContactRecordedV1(Schema):
    person_id = fields.UUID(required=True)
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    preferred_language = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "null when not yet asked: messages then go in both, Welsh first"},
    )
    channels = fields.List(
        fields.String(validate=validate.OneOf(CONTACT_CHANNELS)),
        required=True,
        metadata={"description": "The channels the person agreed to be contacted on."},
    )
    safe_to_text = fields.Boolean(required=True)


CONTACT_RECORDED = EventType(
    aggregate="contact",
    verb="recorded",
    version=1,
    schema=ContactRecordedV1,
    channel=Channel.PRIVATE,
    description="A person's contact details, language and channel consent (new or changed).",
    example={
        "person_id": "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f",
        "given_name": "Rhian",
        "family_name": "Pritchard",
        "email": "rhian@example.org",
        "phone": "+447700900123",
        "preferred_language": "cy",
        "channels": ["email", "sms"],
        "safe_to_text": True,
    },
)

TYPES = (CONTACT_RECORDED,)
