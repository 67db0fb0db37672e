"""Peer advocacy issues (at most three open a person): codes only, never the summary."""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import ADVOCACY_CATEGORIES, ADVOCACY_RESOLUTIONS

_ISSUE = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"
_PERSON = "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f"


class AdvocacyOpenedV1(Schema):
    issue_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)
    category = fields.String(required=True, validate=validate.OneOf(ADVOCACY_CATEGORIES))
    opened_at = fields.AwareDateTime(required=True, format="iso")


class AdvocacyResolvedV1(Schema):
    issue_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)
    category = fields.String(required=True, validate=validate.OneOf(ADVOCACY_CATEGORIES))
    resolution = fields.String(required=True, validate=validate.OneOf(ADVOCACY_RESOLUTIONS))
    resolved_at = fields.AwareDateTime(required=True, format="iso")
    days_open = fields.Integer(required=True, validate=validate.Range(min=0))


ADVOCACY_OPENED = EventType(
    aggregate="advocacy",
    verb="opened",
    version=1,
    schema=AdvocacyOpenedV1,
    channel=Channel.EVENTS,
    description="A peer advocacy issue was opened for a person.",
    example={"issue_id": _ISSUE, "person_id": _PERSON, "category": "housing", "opened_at": "2026-11-05T10:00:00Z"},
)
ADVOCACY_RESOLVED = EventType(
    aggregate="advocacy",
    verb="resolved",
    version=1,
    schema=AdvocacyResolvedV1,
    channel=Channel.EVENTS,
    description="A peer advocacy issue was closed, with how it ended.",
    example={
        "issue_id": _ISSUE,
        "person_id": _PERSON,
        "category": "housing",
        "resolution": "resolved",
        "resolved_at": "2026-12-05T10:00:00Z",
        "days_open": 30,
    },
)

TYPES = (ADVOCACY_OPENED, ADVOCACY_RESOLVED)
