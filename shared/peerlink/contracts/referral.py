"""Referral events: a person enters the network at a site (pseudonymous)."""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import AGE_BANDS, LANGUAGES, REFERRAL_SOURCES, SUPPORT_NEEDS


class ReferralReceivedV1(Schema):
    referral_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)
    source = fields.String(required=True, validate=validate.OneOf(REFERRAL_SOURCES))
    support_needs = fields.List(
        fields.String(validate=validate.OneOf(SUPPORT_NEEDS)), required=True, validate=validate.Length(min=1)
    )
    age_band = fields.String(required=True, validate=validate.OneOf(AGE_BANDS))
    preferred_language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    received_at = fields.AwareDateTime(required=True, format="iso")
    counted_in_figures = fields.Boolean(
        required=True,
        metadata={"description": "The person's consent or lawful basis lets the central office count them."},
    )


REFERRAL_RECEIVED = EventType(
    aggregate="referral",
    verb="received",
    version=1,
    schema=ReferralReceivedV1,
    channel=Channel.EVENTS,
    description="A referral was taken in at a site (by the person, an agency or a professional).",
    example={
        "referral_id": "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11",
        "person_id": "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f",
        "source": "gp",
        "support_needs": ["alcohol", "isolation"],
        "age_band": "35-44",
        "preferred_language": "cy",
        "received_at": "2026-11-02T10:15:00.000000Z",
        "counted_in_figures": True,
    },
)

TYPES = (REFERRAL_RECEIVED,)
