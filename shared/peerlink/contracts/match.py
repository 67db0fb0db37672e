"""Match events, published by matching; referrals follows them to move its workflow."""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import MATCH_END_REASONS

_MATCH = "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
_REFERRAL = "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11"
_PERSON = "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f"
_MENTOR = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"


class MatchConfirmedV1(Schema):
    match_id = fields.UUID(required=True)
    referral_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)
    mentor_id = fields.UUID(required=True)
    confirmed_at = fields.AwareDateTime(required=True, format="iso")


class MatchEndedV1(Schema):
    match_id = fields.UUID(required=True)
    referral_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)
    mentor_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(MATCH_END_REASONS))
    ended_at = fields.AwareDateTime(required=True, format="iso")


_IDS = {"match_id": _MATCH, "referral_id": _REFERRAL, "person_id": _PERSON, "mentor_id": _MENTOR}

MATCH_CONFIRMED = EventType(
    aggregate="match",
    verb="confirmed",
    version=1,
    schema=MatchConfirmedV1,
    channel=Channel.EVENTS,
    description="A proposed match between a person and a peer mentor was confirmed.",
    example={**_IDS, "confirmed_at": "2026-11-20T15:30:00Z"},
)
MATCH_ENDED = EventType(
    aggregate="match",
    verb="ended",
    version=1,
    schema=MatchEndedV1,
    channel=Channel.EVENTS,
    description="A confirmed match ended, with the reason.",
    example={**_IDS, "reason": "mentor-paused", "ended_at": "2026-12-15T10:00:00Z"},
)

TYPES = (MATCH_CONFIRMED, MATCH_ENDED)
