"""Contact details: site-local, personal, only ever on ``peerlink.private``.

Three kinds of people are written to: those referred in (``person_id``, from referrals),
mentors (``mentor_id``, from matching) and public guests of events (``guest_id``, from
events). Notifications keeps one recipient per id.
"""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import CONTACT_CHANNELS, LANGUAGES


class _ContactDetails(Schema):
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


class ContactRecordedV1(_ContactDetails):
    person_id = fields.UUID(required=True)


class MentorContactRecordedV1(_ContactDetails):
    mentor_id = fields.UUID(required=True)


class GuestContactRecordedV1(_ContactDetails):
    guest_id = fields.UUID(required=True)


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
MENTOR_CONTACT_RECORDED = EventType(
    aggregate="mentor-contact",
    verb="recorded",
    version=1,
    schema=MentorContactRecordedV1,
    channel=Channel.PRIVATE,
    description="A mentor's contact details, language and channel consent (new or changed).",
    example={
        "mentor_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
        "given_name": "Gareth",
        "family_name": "Llewellyn",
        "email": "gareth@example.org",
        "phone": "+447700900456",
        "preferred_language": "en",
        "channels": ["email", "sms"],
        "safe_to_text": True,
    },
)
GUEST_CONTACT_RECORDED = EventType(
    aggregate="guest-contact",
    verb="recorded",
    version=1,
    schema=GuestContactRecordedV1,
    channel=Channel.PRIVATE,
    description="A public guest registered for an event: their name, email and language (site-local).",
    example={
        "guest_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "given_name": "Sioned",
        "family_name": None,
        "email": "sioned@example.org",
        "phone": None,
        "preferred_language": None,
        "channels": ["email"],
        "safe_to_text": False,
    },
)

TYPES = (CONTACT_RECORDED, MENTOR_CONTACT_RECORDED, GUEST_CONTACT_RECORDED)
