"""Art events (group sessions, exhibitions, auctions, card sales, live paintings, community
events), published by the events service.

Each registrable occurrence has its own ``event_id``; a weekly session is a series
(``series_id``) whose occurrences are scheduled one by one. Titles and venues are public
information about an event, never about a person.
"""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import ART_EVENT_CANCEL_REASONS, ART_EVENT_KINDS

_EVENT = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
_GROUP = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a"
_SERIES = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"
CHANGEABLE = ("title", "venue", "starts_at", "ends_at", "capacity", "public")


class _ArtEvent(Schema):
    event_id = fields.UUID(required=True)
    group_id = fields.UUID(allow_none=True, load_default=None)
    series_id = fields.UUID(allow_none=True, load_default=None)
    kind = fields.String(required=True, validate=validate.OneOf(ART_EVENT_KINDS))
    starts_at = fields.AwareDateTime(required=True, format="iso")


class _Schedule(_ArtEvent):
    title_cy = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title_en = fields.String(required=True, validate=validate.Length(min=1, max=200))
    venue = fields.String(required=True, validate=validate.Length(min=1, max=200))
    ends_at = fields.AwareDateTime(required=True, format="iso")
    timezone = fields.String(load_default="Europe/London", validate=validate.Length(min=1, max=64))
    capacity = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    public = fields.Boolean(required=True)


class ArtEventScheduledV1(_Schedule):
    scheduled_at = fields.AwareDateTime(required=True, format="iso")


class ArtEventChangedV1(_Schedule):
    changed = fields.List(
        fields.String(validate=validate.OneOf(CHANGEABLE)), required=True, validate=validate.Length(min=1)
    )
    changed_at = fields.AwareDateTime(required=True, format="iso")


class ArtEventCancelledV1(_ArtEvent):
    reason = fields.String(required=True, validate=validate.OneOf(ART_EVENT_CANCEL_REASONS))
    cancelled_at = fields.AwareDateTime(required=True, format="iso")


_SCHEDULE = {
    "event_id": _EVENT,
    "group_id": _GROUP,
    "series_id": _SERIES,
    "kind": "group-session",
    "title_cy": "Grŵp celf Glynebwy",
    "title_en": "Ebbw Vale art group",
    "venue": "Ebbw Vale Institute",
    "starts_at": "2026-12-01T10:00:00Z",
    "ends_at": "2026-12-01T12:00:00Z",
    "timezone": "Europe/London",
    "capacity": 14,
    "public": False,
}


def _art_event(verb: str, schema: type[Schema], description: str, example: dict[str, object]) -> EventType:
    return EventType(
        aggregate="artevent",
        verb=verb,
        version=1,
        schema=schema,
        channel=Channel.EVENTS,
        description=description,
        example=example,
    )


ARTEVENT_SCHEDULED = _art_event(
    "scheduled",
    ArtEventScheduledV1,
    "An event (or one occurrence of a series) was scheduled.",
    {**_SCHEDULE, "scheduled_at": "2026-11-10T09:00:00Z"},
)
ARTEVENT_CHANGED = _art_event(
    "changed",
    ArtEventChangedV1,
    "An event was moved or changed; `changed` names what changed, the rest is the event as it is now.",
    {
        **_SCHEDULE,
        "starts_at": "2026-12-01T13:00:00Z",
        "ends_at": "2026-12-01T15:00:00Z",
        "changed": ["starts_at", "ends_at"],
        "changed_at": "2026-11-20T09:00:00Z",
    },
)
ARTEVENT_CANCELLED = _art_event(
    "cancelled",
    ArtEventCancelledV1,
    "An event (or one occurrence of a series) was cancelled.",
    {
        "event_id": _EVENT,
        "group_id": _GROUP,
        "series_id": _SERIES,
        "kind": "group-session",
        "starts_at": "2026-12-01T10:00:00Z",
        "reason": "venue-unavailable",
        "cancelled_at": "2026-11-25T09:00:00Z",
    },
)

TYPES = (ARTEVENT_SCHEDULED, ARTEVENT_CHANGED, ARTEVENT_CANCELLED)
